/**
 * Log lines a person can read: one line per event, for a terminal. pino writes JSON, which is what
 * log shippers want; this turns each JSON line into `time LEVEL message key=value …`.
 */

export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT when set; otherwise readable lines on a terminal and JSON anywhere else (a pipe, a file, journald). */
export function chooseLogFormat(setting: LogFormat | undefined, isTTY: boolean | undefined): LogFormat {
  return setting ?? (isTTY ? 'pretty' : 'json');
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** What every pino line carries and the line shows in its own place, or not at all. */
const OWN_PLACE = new Set(['level', 'time', 'msg', 'err', 'pid', 'hostname']);

export interface FormatOptions {
  /** print an error's stack under its line (the logger is at debug or trace) */
  stack?: boolean;
}

/**
 * One pino record as one line: local time, level, message, then the context as key=value. An error
 * shows as its message (pino's serializer has joined its causes' messages to it); its stack
 * follows on indented lines only with `stack`.
 */
export function formatLogRecord(record: Record<string, unknown>, { stack = false }: FormatOptions = {}): string {
  const level = typeof record.level === 'number' ? (LEVELS[record.level] ?? `L${record.level}`) : 'INFO';
  const parts = [formatTime(record.time), level.padEnd(5), oneLine(String(record.msg ?? ''))];
  const err = errorOf(record.err);
  if (err) parts[2] += `: ${oneLine(err.message)}`;
  else if (record.err !== undefined) parts.push(`err=${formatValue(record.err)}`);
  for (const [key, value] of Object.entries(record)) {
    if (OWN_PLACE.has(key) || value === undefined) continue;
    parts.push(`${key}=${formatValue(value)}`);
  }
  let line = parts.join(' ');
  if (stack && err?.stack) {
    // The stack's first line repeats the message; a cause's heading stands out from the frames.
    const frames = err.stack.split('\n').slice(1).map((frame) => (frame.trim().startsWith('at ') ? `    ${frame.trim()}` : `  ${frame.trim()}`));
    if (frames.length) line += `\n${frames.join('\n')}`;
  }
  return line;
}

/**
 * A pino destination that writes readable lines to `out`. It sits behind pino's streamWrite hook,
 * so the JSON it reads has already been scrubbed of secrets.
 */
export function createPrettyDestination(out: { write(text: string): unknown }, options: FormatOptions = {}): { write(line: string): void } {
  return {
    write(line) {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        out.write(line); // not pino's: pass it on as it came
        return;
      }
      out.write(`${formatLogRecord(record as Record<string, unknown>, options)}\n`);
    },
  };
}

function formatTime(time: unknown): string {
  const date = new Date(typeof time === 'number' ? time : Date.now());
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** A bare word when it reads unambiguously, JSON otherwise (quoted text, objects). */
function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=\\]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null) {
    const err = errorOf(value);
    return err ? JSON.stringify(err.message) : JSON.stringify(value);
  }
  return String(value);
}

/** Newlines in a message would break the one line per event. */
function oneLine(text: string): string {
  return text.replace(/\r?\n/g, '\\n');
}

/** pino's serialized error: an object with a message (and usually a type and a stack). */
function errorOf(value: unknown): { message: string; stack?: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { message, stack, type } = value as { message?: unknown; stack?: unknown; type?: unknown };
  if (typeof message !== 'string' || (typeof stack !== 'string' && typeof type !== 'string')) return undefined;
  return { message, stack: typeof stack === 'string' ? stack : undefined };
}
