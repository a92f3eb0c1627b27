/**
 * The order test files start in. With four workers the run lasts at least as long as its longest
 * file, and vitest starts a file it has no timings for (a fresh clone, as in CI) by size: the kill -9
 * trials, minutes long but four lines in their files, would start last and end the run a minute
 * after everything else. So the files known to be long start first; the rest keep vitest's order
 * (by the last run's timings where it has them).
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Longest first, as measured (README, Development). */
const LONG_FILES = [
  'test/e2e/crash-pglite.test.ts',
  'test/e2e/crash-postgres.test.ts',
  'test/e2e/first-start.test.ts',
  'test/e2e/start.test.ts',
  'test/e2e/shell.test.ts',
  'test/e2e/commands.test.ts',
  'test/e2e/logs.test.ts',
  'test/db/client.test.ts',
];

export class LongFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const at = LONG_FILES.indexOf(relative(file.project.config.root, file.moduleId));
      return at === -1 ? LONG_FILES.length : at;
    };
    const sorted = await super.sort(files);
    return sorted.map((file, at) => ({ file, at })).sort((a, b) => rank(a.file) - rank(b.file) || a.at - b.at).map(({ file }) => file);
  }
}
