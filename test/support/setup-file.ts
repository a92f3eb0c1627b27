/**
 * Before each test file: `memory:` databases load the run's migrated PGlite database (made once by
 * test/support/global-setup.ts) rather than the template plus every migration.
 */
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { setMemoryDataDir } from '../../src/db/client.js';

setMemoryDataDir(new Blob([readFileSync(inject('pgliteSnapshot'))]));
