// The kill -9 trials on PGlite on disk with Electrum push on; test/e2e/crash-trial.ts says what they are.
import { describeCrashTrials } from './crash-trial.js';

describeCrashTrials('pglite', 'electrum');
