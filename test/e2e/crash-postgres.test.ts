// The kill -9 trials on Postgres (TEST_DATABASE_URL); test/e2e/crash-trial.ts says what they are.
import { describeCrashTrials } from './crash-trial.js';

describeCrashTrials('postgres');
