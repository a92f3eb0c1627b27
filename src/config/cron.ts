import { validateDetailed } from 'node-cron';

/**
 * What is wrong with `expr` as a node-cron expression; empty when nothing is. The one check both
 * SYNC_CRON (at start, naming the variable) and the scheduler (for any job) use, so they never
 * disagree about what a cron expression is.
 */
export function cronProblems(expr: string): string[] {
  try {
    return validateDetailed(expr).errors.map((e) => e.message);
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
}

/** How to write one, for the messages that refuse one. */
export const CRON_HINT = 'five fields, minute hour day-of-month month day-of-week, or six with seconds first, e.g. "*/5 * * * *"';
