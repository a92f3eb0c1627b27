/**
 * The framing and message shapes of the Electrum wire: one JSON-RPC message (or batch) per line.
 * Pure functions over bytes and parsed values, so that what a hostile server can send is tested
 * without a socket.
 */

export interface JsonRpcAnswer {
  kind: 'answer';
  /** as parsed: integers are bigint; anything else is not an id we sent */
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export interface JsonRpcNotification {
  kind: 'notification';
  method: string;
  params: unknown;
}

export type JsonRpcMessage = JsonRpcAnswer | JsonRpcNotification;

/**
 * Splits a byte stream into lines, keeping at most `maxLineBytes` of a line not yet ended: a
 * longer line is an error, read no further, so a server cannot make us buffer without bound.
 */
export class ElectrumLineReader {
  private parts: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): { lines: string[]; error?: string } {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      if (this.buffered + piece.length > this.maxLineBytes) return { lines, error: this.tooLong() };
      const line = this.parts.length === 0 ? piece : Buffer.concat([...this.parts, piece]);
      this.parts = [];
      this.buffered = 0;
      const text = line.toString('utf8').trim();
      if (text !== '') lines.push(text);
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      if (this.buffered + rest.length > this.maxLineBytes) return { lines, error: this.tooLong() };
      this.parts.push(rest);
      this.buffered += rest.length;
    }
    return { lines };
  }

  private tooLong(): string {
    return `sent a line longer than ${this.maxLineBytes} bytes`;
  }
}

/**
 * The messages of one parsed line: an object, or a non-empty array of them (a batch's answers).
 * Anything else is an error naming what is wrong.
 */
export function readMessages(value: unknown): { list: JsonRpcMessage[] } | { error: string } {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return { error: 'sent an empty batch' };
  const list: JsonRpcMessage[] = [];
  for (const item of items) {
    const message = readMessage(item);
    if (typeof message === 'string') return { error: message };
    list.push(message);
  }
  return { list };
}

function readMessage(item: unknown): JsonRpcMessage | string {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return 'sent a message that is not a JSON-RPC object';
  const message = item as Record<string, unknown>;
  const hasId = 'id' in message && message.id !== null;
  if (!hasId && typeof message.method === 'string') {
    return { kind: 'notification', method: message.method, params: message.params ?? [] };
  }
  if (!('id' in message)) return 'sent a message with neither an id nor a method';
  if (message.error !== undefined && message.error !== null) {
    const error = message.error as Record<string, unknown>;
    if (typeof error !== 'object' || typeof error.code !== 'bigint' || typeof error.message !== 'string') {
      return 'sent an error that is not {code, message}';
    }
    if (!hasId) return `sent an error about no request in particular: ${error.message}`;
    const code = Number(error.code);
    return { kind: 'answer', id: message.id, error: { code, message: error.message, ...('data' in error ? { data: error.data } : {}) } };
  }
  if (!('result' in message)) return 'sent an answer with neither a result nor an error';
  if (!hasId) return 'sent a result with a null id';
  return { kind: 'answer', id: message.id, result: message.result };
}
