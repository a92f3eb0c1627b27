import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chooseLogFormat, createPrettyDestination, formatLogRecord } from '../../src/log-format.js';
import { createLogger } from '../../src/logger.js';

const TIME = new Date(2026, 11, 1, 9, 5, 7).getTime(); // local time, as the line shows it
const LINE_START = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /;

/** A logger whose lines land in an array. */
function capture(level: string, format: 'json' | 'pretty', secrets: string[] = []) {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const logger = createLogger(level, { destination: destination as unknown as NodeJS.WritableStream & { write(s: string): boolean }, secrets, format });
  return { logger, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

describe('a readable log line', () => {
  it('has the time, the level, the message and the context as key=value, and nothing of pino’s own', () => {
    const line = formatLogRecord({ level: 30, time: TIME, pid: 42, hostname: 'pi', msg: 'database ready', database: 'memory:', kind: 'pglite', guilds: 3 });
    expect(line).toBe('2026-12-01 09:05:07 INFO  database ready database=memory: kind=pglite guilds=3');
  });

  it('quotes a value with spaces or quotes, and writes objects as JSON', () => {
    const line = formatLogRecord({ level: 40, time: TIME, msg: 'x', label: 'cold storage', said: 'a "b"', ok: true, scope: { guildId: '1' }, none: null });
    expect(line).toBe('2026-12-01 09:05:07 WARN  x label="cold storage" said="a \\"b\\"" ok=true scope={"guildId":"1"} none=null');
  });

  it('shows an error as its message after the line’s, and its stack only when asked', () => {
    const err = { type: 'Error', message: 'fetch failed: connect ECONNREFUSED 127.0.0.1:1', stack: 'Error: fetch failed\n    at get (src/chain/providers/http.ts:1:1)\ncaused by: Error: connect ECONNREFUSED\n    at connect (node:net:1:1)' };
    const record = { level: 50, time: TIME, msg: 'provider failed', err, provider: 'esplora' };
    expect(formatLogRecord(record)).toBe('2026-12-01 09:05:07 ERROR provider failed: fetch failed: connect ECONNREFUSED 127.0.0.1:1 provider=esplora');
    expect(formatLogRecord(record, { stack: true }).split('\n')).toEqual([
      '2026-12-01 09:05:07 ERROR provider failed: fetch failed: connect ECONNREFUSED 127.0.0.1:1 provider=esplora',
      '    at get (src/chain/providers/http.ts:1:1)',
      '  caused by: Error: connect ECONNREFUSED',
      '    at connect (node:net:1:1)',
    ]);
  });

  it('keeps one line per event when a message holds a newline', () => {
    expect(formatLogRecord({ level: 30, time: TIME, msg: 'two\nlines' })).toBe('2026-12-01 09:05:07 INFO  two\\nlines');
  });

  it('passes on a line that is not pino’s JSON as it came', () => {
    const out: string[] = [];
    createPrettyDestination({ write: (text) => out.push(text) }).write('not json\n');
    expect(out).toEqual(['not json\n']);
  });
});

describe('the log format', () => {
  it('is readable on a terminal and JSON anywhere else, unless LOG_FORMAT says', () => {
    expect(chooseLogFormat(undefined, true)).toBe('pretty');
    expect(chooseLogFormat(undefined, false)).toBe('json');
    expect(chooseLogFormat(undefined, undefined)).toBe('json');
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
  });
});

describe('a pretty logger', () => {
  it('writes one readable line per event, with the stack of an error at debug only', () => {
    const info = capture('info', 'pretty');
    info.logger.info({ guildId: '1' }, 'tracked');
    info.logger.error({ err: new Error('boom') }, 'command failed');
    expect(info.lines()).toHaveLength(2);
    for (const line of info.lines()) expect(line).toMatch(LINE_START);
    expect(info.lines()[1]).toMatch(/ERROR command failed: boom$/);

    const debug = capture('debug', 'pretty');
    debug.logger.error({ err: new Error('boom') }, 'command failed');
    expect(debug.lines()[0]).toMatch(/ERROR command failed: boom$/);
    expect(debug.lines()[1]).toMatch(/^ {4}at /);
  });

  it('prints no secret: its lines are made from the scrubbed JSON', () => {
    const token = 'MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GAbCdE.abcdefghijklmnopqrstuvwxyz0123456789AB';
    const { logger, lines } = capture('trace', 'pretty', [token, 'hunter22']);
    logger.info({ url: 'postgres://satbell:hunter22@db/satbell', token }, `login with ${token}`);
    logger.error({ err: new Error(`refused hunter22 for ${token}`) }, 'failed');
    const text = lines().join('\n');
    expect(text).not.toContain(token);
    expect(text).not.toContain('hunter22');
    expect(text).toContain('url=postgres://satbell:***@db/satbell');
    expect(text).toContain('token=[redacted]');
  });

  it('is JSON when asked, one object per line', () => {
    const { logger, lines } = capture('info', 'json');
    logger.info({ guildId: '1' }, 'tracked');
    expect(JSON.parse(lines()[0]!)).toMatchObject({ level: 30, msg: 'tracked', guildId: '1' });
  });
});
