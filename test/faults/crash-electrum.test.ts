// The kill -9 trials on PGlite on disk with Electrum push on; test/e2e/crash-trial.ts says what they are.
// In the fault suite rather than beside the other two in test/e2e: three files of minutes each kept
// `npm test` from ending within 3 minutes on two cores.
import { describeCrashTrials } from '../e2e/crash-trial.js';

describeCrashTrials('pglite', 'electrum');
