import { PermissionFlagsBits } from 'discord.js';

/** What a route handler answers; the HTTP layer adds rate-limit headers and serialises the body. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Close the connection instead of answering (the request may well have been acted on). */
  drop?: boolean;
}

const DISCORD_EPOCH = 1_420_070_400_000n;

/** Snowflakes whose timestamp is the fake's clock, so `createdTimestamp` in discord.js is right. */
export function createSnowflakes(now: () => number): () => string {
  let increment = 0n;
  return () => {
    increment = (increment + 1n) & 0xfffn;
    return (((BigInt(now()) - DISCORD_EPOCH) << 22n) | (1n << 17n) | increment).toString();
  };
}

/** discord-api-types types each flags field as its own enum; an empty bitfield is valid for all of them. */
export const NO_FLAGS = 0 as never;

export const ALL_PERMISSIONS = Object.values(PermissionFlagsBits).reduce((all, bit) => all | bit, 0n);

/** Discord's timestamp format: microseconds and an explicit offset. */
export function isoTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

export function apiError(status: number, code: number, message: string, errors?: unknown): Reply {
  return { status, body: errors === undefined ? { code, message } : { code, message, errors } };
}

export const unknownChannel = (): Reply => apiError(404, 10003, 'Unknown Channel');
export const unknownMessage = (): Reply => apiError(404, 10008, 'Unknown Message');

/** Collects field errors in Discord's nested `{ field: { _errors: [...] } }` shape (code 50035). */
export class FormErrors {
  #errors: Record<string, unknown> = {};
  #any = false;

  add(path: (string | number)[], code: string, message: string): void {
    let node = this.#errors as Record<string, unknown>;
    for (const key of path) node = (node[String(key)] ??= {}) as Record<string, unknown>;
    ((node._errors ??= []) as unknown[]).push({ code, message });
    this.#any = true;
  }

  maxLength(path: (string | number)[], value: unknown, max: number): void {
    if (typeof value === 'string' && [...value].length > max) {
      this.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
    }
  }

  reply(): Reply | null {
    return this.#any ? apiError(400, 50035, 'Invalid Form Body', this.#errors) : null;
  }
}

interface Pending {
  check(): void;
  fail(error: Error): void;
}

/**
 * Lets tests await a state the bot has not produced yet. Every waiter times out with a message saying
 * what it waited for and what happened instead, so a broken bot fails a test rather than hanging it.
 */
export class Waiters {
  #pending = new Set<Pending>();
  #closed = false;

  notify(): void {
    for (const pending of [...this.#pending]) pending.check();
  }

  waitFor<T>(read: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => pending.fail(new Error(describe())), timeoutMs);
      timer.unref();
      const settle = (): void => {
        clearTimeout(timer);
        this.#pending.delete(pending);
      };
      const pending: Pending = {
        check: () => {
          try {
            const value = read();
            if (value === undefined) return;
            settle();
            resolve(value);
          } catch (error) {
            pending.fail(error as Error);
          }
        },
        fail: (error) => {
          settle();
          reject(error);
        },
      };
      if (this.#closed) return pending.fail(new Error('the fake Discord is closed'));
      this.#pending.add(pending);
      pending.check();
    });
    // Callers that never await (a test that failed earlier) must not turn a timeout into an unhandled rejection.
    promise.catch(() => undefined);
    return promise;
  }

  close(): void {
    this.#closed = true;
    for (const pending of [...this.#pending]) pending.fail(new Error('the fake Discord was closed while a test waited on it'));
  }
}
