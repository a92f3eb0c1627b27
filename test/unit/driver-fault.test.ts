import { describe, expect, it } from 'vitest';
import { isPostgresClosedSocketWrite } from '../../src/db/driver-fault.js';

/** The error as postgres.js 3.4.9 throws it (porsager/postgres #1208), from a given top frame. */
function closedSocketWrite(frame: string): TypeError {
  const err = new TypeError("Cannot read properties of null (reading 'write')");
  err.stack = [
    `TypeError: ${err.message}`,
    `    at ${frame}`,
    '    at process.processImmediate (node:internal/timers:485:21)',
  ].join('\n');
  return err;
}

describe('isPostgresClosedSocketWrite', () => {
  it('recognises the write postgres.js flushes to a socket its close has set to null', () => {
    expect(isPostgresClosedSocketWrite(closedSocketWrite('Immediate.nextWrite (file:///app/node_modules/postgres/src/connection.js:255:22)'))).toBe(true);
    expect(isPostgresClosedSocketWrite(closedSocketWrite('nextWrite (/app/node_modules/postgres/cjs/src/connection.js:255:22)'))).toBe(true);
  });

  it('leaves alone the same message thrown anywhere else, and other errors of postgres.js', () => {
    expect(isPostgresClosedSocketWrite(closedSocketWrite('notify (file:///app/src/sync/outbox.ts:12:3)'))).toBe(false);
    expect(isPostgresClosedSocketWrite(closedSocketWrite('Immediate.flush (file:///app/node_modules/postgres/src/connection.js:255:22)'))).toBe(false);
    expect(isPostgresClosedSocketWrite(closedSocketWrite('Immediate.nextWrite (file:///app/node_modules/other/src/connection.js:1:1)'))).toBe(false);
    const other = new TypeError("Cannot read properties of null (reading 'end')");
    other.stack = `TypeError: ${other.message}\n    at Immediate.nextWrite (file:///app/node_modules/postgres/src/connection.js:255:22)`;
    expect(isPostgresClosedSocketWrite(other)).toBe(false);
    expect(isPostgresClosedSocketWrite(new Error("Cannot read properties of null (reading 'write')"))).toBe(false);
    expect(isPostgresClosedSocketWrite('nextWrite')).toBe(false);
  });
});
