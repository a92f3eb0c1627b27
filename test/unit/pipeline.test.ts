import { afterEach, describe, expect, it, vi } from 'vitest';
import { type FrontEnd, runCommand } from '../../src/commands/pipeline.js';
import type { CommandContext } from '../../src/commands/context.js';
import type { Command, CommandReply, CommandRequest } from '../../src/discord/command.js';
import { renderSaid } from '../../src/discord/render/said.js';
import { createNotTrackedError } from '../../src/errors.js';
import { renderSaid as renderForShell } from '../../src/shell/render.js';
import { createCapturingLogger } from '../support/logs.js';

/** What the pipeline asked of its front end, in order. */
function recordingFrontEnd({ deferrable = true, expired = false } = {}) {
  const calls: string[] = [];
  const front: FrontEnd = {
    progress: (reply) => void calls.push(`progress ${reply.content}`),
    answer: async (reply) => void calls.push(`answer ${reply.content}`),
    fail: async (failure) =>
      void calls.push(failure.kind === 'refused' ? `refused ${renderSaid(failure.error.said)}` : `unexpected ${String(failure.error)}`),
    ...(deferrable ? { defer: async () => void calls.push('defer') } : {}),
    ...(expired ? { expired: () => true } : {}),
  };
  return { front, calls };
}

const request: Omit<CommandRequest, 'progress'> = {
  guildId: 'g',
  userId: 'u',
  memberPermissions: 0n,
  options: { string: () => null, boolean: () => null, integer: () => null, channel: () => null, subcommand: () => null },
  page: 0,
};

function command(overrides: Partial<Command> & Pick<Command, 'execute'>): Command {
  return { definition: { name: 'untrack', description: 'Stop tracking' }, defer: false, ...overrides };
}

function pipeline(extra: { acknowledgeAfterMs?: number; timeoutMs?: number; maxRunMs?: number } = {}) {
  const { logger, lines } = createCapturingLogger();
  return { options: { ctx: {} as CommandContext, log: logger, ...extra }, lines };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('runCommand', () => {
  it('checks, defers when the command asks, executes with progress, then answers; no progress after the answer', async () => {
    const { front, calls } = recordingFrontEnd();
    let progress: CommandRequest['progress'] | undefined;
    const cmd = command({
      defer: 'public',
      check: () => void calls.push('check'),
      async execute(req) {
        progress = req.progress;
        req.progress({ content: 'fetched 1 of 2' });
        return { content: 'done' };
      },
    });
    await runCommand(cmd, request, front, pipeline().options);
    progress!({ content: 'late' });
    expect(calls).toEqual(['check', 'defer', 'progress fetched 1 of 2', 'answer done']);
  });

  it('refuses privately when the check refuses, without executing or deferring', async () => {
    const { front, calls } = recordingFrontEnd();
    const execute = vi.fn(async (): Promise<CommandReply> => ({ content: 'never' }));
    const { options, lines } = pipeline();
    await runCommand(command({ defer: 'public', check: () => Promise.reject(createNotTrackedError('bc1q')), execute }), request, front, options);
    expect(execute).not.toHaveBeenCalled();
    expect(calls).toEqual(['refused `bc1q` is not tracked in this server. Use `/addresses` to see what is, or `/track` to add it.']);
    expect(lines.map((l) => l.msg)).toEqual(['command refused']);
  });

  it('reports an unexpected failure as such and logs it as an error', async () => {
    const { front, calls } = recordingFrontEnd();
    const { options, lines } = pipeline();
    await runCommand(command({ execute: () => Promise.reject(new Error('boom')) }), request, front, options);
    expect(calls).toEqual(['unexpected Error: boom']);
    expect(lines.find((l) => l.msg === 'command failed')?.err?.message).toBe('boom');
  });

  it('sends nothing to a front end that can no longer be answered', async () => {
    const { front, calls } = recordingFrontEnd({ expired: true });
    const { options, lines } = pipeline();
    await runCommand(command({ execute: () => Promise.reject(new Error('gone')) }), request, front, options);
    expect(calls).toEqual([]);
    expect(lines.map((l) => l.msg)).toEqual(['interaction expired before we could answer']);
  });

  it('defers a command that is still working after the acknowledge delay, and not one that answered before it', async () => {
    vi.useFakeTimers();
    const slow = recordingFrontEnd();
    const finishing = runCommand(command({ execute: () => new Promise((resolve) => setTimeout(() => resolve({ content: 'slow' }), 2_000)) }), request, slow.front, pipeline({ acknowledgeAfterMs: 1_500 }).options);
    await vi.advanceTimersByTimeAsync(2_000);
    await finishing;
    expect(slow.calls).toEqual(['defer', 'answer slow']);

    const quick = recordingFrontEnd();
    await runCommand(command({ execute: async () => ({ content: 'quick' }) }), request, quick.front, pipeline({ acknowledgeAfterMs: 1_500 }).options);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(quick.calls).toEqual(['answer quick']);
  });

  it('gives up after the timeout, saying how to verify a change, and logs how the run ended', async () => {
    vi.useFakeTimers();
    const { front, calls } = recordingFrontEnd();
    const { options, lines } = pipeline({ timeoutMs: 60_000 });
    const cmd = command({ verifyWith: 'addresses', execute: () => new Promise((resolve) => setTimeout(() => resolve({ content: 'late' }), 90_000)) });
    const finishing = runCommand(cmd, request, front, options);
    await vi.advanceTimersByTimeAsync(60_000);
    await finishing;
    expect(calls).toEqual([
      'refused `/untrack` did not finish: the database or the Bitcoin data service is not answering right now, so whether it went through is unknown. In a minute, check with `/addresses` before trying again.',
    ]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(calls).toHaveLength(1);
    expect(lines.map((l) => l.msg)).toEqual(['gave up on a command that did not finish', 'command refused', 'a command given up on finished after all']);
  });

  it('waits as long as the run shows progress, up to the most a deferred reply can wait', async () => {
    vi.useFakeTimers();
    const slow = recordingFrontEnd();
    // A wallet scan at a paced service: a history every 30 s, four minutes in all.
    const scan = command({
      execute: async ({ progress }) => {
        for (let i = 1; i <= 8; i++) {
          await new Promise((resolve) => setTimeout(resolve, 30_000));
          progress({ content: `scanned ${i}` });
        }
        return { content: 'tracked' };
      },
    });
    const scanning = runCommand(scan, request, slow.front, pipeline({ timeoutMs: 60_000 }).options);
    await vi.advanceTimersByTimeAsync(4 * 60_000);
    await scanning;
    expect(slow.calls.at(-1)).toBe('answer tracked');
    expect(slow.calls).toHaveLength(9);

    const endless = recordingFrontEnd();
    const busy = command({
      execute: ({ progress }) =>
        new Promise(() => {
          setInterval(() => progress({ content: 'still going' }), 10_000);
        }),
    });
    const running = runCommand(busy, request, endless.front, pipeline({ timeoutMs: 60_000, maxRunMs: 5 * 60_000 }).options);
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    await running;
    expect(endless.calls.at(-1)).toMatch(/^refused `\/untrack` did not finish/);
    expect(endless.calls.filter((c) => c === 'progress still going')).toHaveLength(29);
    vi.clearAllTimers();
  });

  it('never defers nor gives up without the delays (the shell), and a front end without defer still runs a deferring command', async () => {
    vi.useFakeTimers();
    const { front, calls } = recordingFrontEnd({ deferrable: false });
    const cmd = command({ defer: 'public', execute: () => new Promise((resolve) => setTimeout(() => resolve({ content: 'after ten minutes' }), 600_000)) });
    const finishing = runCommand(cmd, request, front, pipeline().options);
    await vi.advanceTimersByTimeAsync(600_000);
    await finishing;
    expect(calls).toEqual(['answer after ten minutes']);
  });
});

describe('what a user is told, in each front end', () => {
  it('marks values, names and commands for Discord, and leaves them plain for the shell', () => {
    const said = createNotTrackedError('bc1q`x').said;
    expect(renderSaid(said)).toBe("`bc1q'x` is not tracked in this server. Use `/addresses` to see what is, or `/track` to add it.");
    expect(renderForShell(said)).toBe('bc1q`x is not tracked in this server. Use /addresses to see what is, or /track to add it.');
  });
});
