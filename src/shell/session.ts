import { setTimeout as sleep } from 'node:timers/promises';
import { PermissionsBitField } from 'discord.js';
import { SHELL_GUILD_ID } from '../core.js';
import { type FrontEnd, runCommand } from '../commands/pipeline.js';
import type { Command, CommandContext } from '../discord/command.js';
import type { RunOutcome } from '../sync/scheduler.js';
import { commandOptions, type ParsedCommand, ParseError, parseCommand, tokenize } from './parse.js';
import { renderPage, renderReply, renderSaid } from './render.js';

/** The one server, channel and member the shell plays: the database knows them like any other. */
export { SHELL_GUILD_ID };
export const SHELL_CHANNEL_ID = 'terminal';
const SHELL_USER_ID = 'you';

export interface ShellDeps {
  commands: readonly Command[];
  ctx: CommandContext;
  /** Show a block of text. */
  print(text: string): void;
  /** Run a sync now; 'skipped' while one is running. */
  syncNow(): Promise<RunOutcome>;
  /** How many of the shell's notices still wait to be printed. */
  undelivered(): Promise<number>;
}

/** How long `sync` waits for a running sync to finish, then for its notices. */
const SYNC_WAIT_MS = 60_000;

const SHELL_HELP = [
  'In this shell also: sync (sync now and print the notices), next and prev (turn the pages of a paged reply), exit.',
  'Options are name:value, in "quotes" when they hold spaces; bare words fill the options in order: /balance cold fresh:true.',
].join('\n');

/**
 * A typed line in, text out: the same commands the Discord bot answers, run through the same
 * command pipeline, for one local server where you have every permission. The shell never defers
 * and never gives up: its user sees the progress and waits as long as a paced service takes.
 */
export function createShell({ commands, ctx, print, syncNow, undelivered }: ShellDeps) {
  const { logger } = ctx;
  /** the last reply with pages: what next and prev turn */
  let paged: { parsed: ParsedCommand; index: number; count: number } | undefined;

  /** The shell as the pipeline's front end: progress a line at a time, the answer as text. */
  async function execute(parsed: ParsedCommand, page: number): Promise<void> {
    const { command } = parsed;
    let lastProgress = '';
    const request = { guildId: SHELL_GUILD_ID, userId: SHELL_USER_ID, memberPermissions: PermissionsBitField.All, options: commandOptions(parsed), page };
    const front: FrontEnd = {
      // One line per update: a long history reports many times, and each report replaces the last.
      progress(reply) {
        const shown = renderReply(reply)
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
          .join(' · ');
        if (shown === lastProgress) return;
        lastProgress = shown;
        print(`… ${shown}`);
      },
      async answer(reply) {
        const where = renderPage(reply.page);
        print([renderReply(reply), where].filter(Boolean).join('\n'));
        paged = reply.page && where ? { parsed, ...reply.page } : undefined;
      },
      async fail(failure) {
        if (failure.kind === 'refused') print(renderSaid(failure.error.said));
        else print(unexpectedLine(failure.error));
      },
    };
    await runCommand(command, request, front, { ctx, log: logger.child({ command: command.definition.name }) });
  }

  /** A bug or an outage: one line here, the details in the log. */
  function unexpected(err: unknown, what: string): void {
    logger.error({ err, command: what }, 'command failed');
    print(unexpectedLine(err));
  }

  async function turn(step: 1 | -1): Promise<void> {
    if (!paged) {
      print('Nothing to page: next and prev turn the pages of the last paged reply, such as /txns.');
      return;
    }
    const index = paged.index + step;
    if (index < 0 || index >= paged.count) {
      print(step > 0 ? 'That was the last page.' : 'This is the first page.');
      return;
    }
    await execute(paged.parsed, index);
  }

  async function sync(): Promise<void> {
    const deadline = Date.now() + SYNC_WAIT_MS;
    let outcome = await syncNow();
    // A sync is running (the one at start, a scheduled one): wait for it, then run one that
    // surely sees what the chain holds now.
    while (outcome === 'skipped' && Date.now() < deadline) {
      await sleep(200);
      outcome = await syncNow();
    }
    if (outcome === 'skipped') {
      print('A sync is still running: its notices will print when they come.');
      return;
    }
    if (outcome === 'failed') {
      print('The sync failed. The log (stderr) says why; the next one runs on SYNC_CRON or with sync.');
      return;
    }
    let waiting = await undelivered();
    while (waiting > 0 && Date.now() < deadline) {
      await sleep(50);
      waiting = await undelivered();
    }
    print(waiting ? `Sync done; ${waiting} notice${waiting === 1 ? '' : 's'} still waiting to print.` : 'Sync done.');
  }

  return {
    /** Run one typed line; 'exit' when it asks to leave. */
    async run(line: string): Promise<'exit' | undefined> {
      const trimmed = line.trim();
      if (!trimmed || trimmed.startsWith('#')) return undefined;
      try {
        const tokens = tokenize(trimmed);
        const word = tokens.length === 1 && tokens[0]!.name === null ? tokens[0]!.value.toLowerCase() : undefined;
        if (word === 'exit' || word === 'quit') return 'exit';
        if (word === 'next' || word === 'prev') {
          await turn(word === 'next' ? 1 : -1);
          return undefined;
        }
        if (word === 'sync') {
          await sync();
          return undefined;
        }
        const parsed = parseCommand(tokens, commands);
        await execute(parsed, parsed.page ?? 0);
        if (parsed.command.definition.name === 'help') print(SHELL_HELP);
      } catch (err) {
        if (err instanceof ParseError) print(err.message);
        else unexpected(err, trimmed.split(/\s/)[0]!);
      }
      return undefined;
    },
  };
}

function unexpectedLine(err: unknown): string {
  const reason = String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 160);
  return `Something went wrong: ${reason}. The log (stderr) has the details.`;
}
