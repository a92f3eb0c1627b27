/**
 * The database misbehaving under a real bot process (src/main.ts, as `npm start` runs it) while
 * payments arrive and commands are typed: storms of pg_terminate_backend on the bot's connections
 * (a failover, a pooler restart), a database that stops answering for 20 s, and one that restarts.
 * The process must stay up, every command must get one answer that says what really happened, and
 * every payment must be announced exactly once.
 *
 * These faults need a database server: PGlite runs inside the bot's process, with no connection to
 * lose, so on PGlite the cases are skipped (the test names say so).
 *
 * The fake Discord here waits a minute for an interaction's first answer instead of Discord's 3 s,
 * so that the answers are judged on what they say, not on how fast a command deferred.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeChain, startBlockchainInfoFake } from '../fakes/chain/index.js';
import { type FakeInteraction, type FakeMessage, startFakeDiscord } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { type BotRun, killAllBots, noticeTxid, startBotProcess, waitUntilStable } from '../support/bots.js';
import { createTestDatabaseUrl, testBackends } from '../support/database.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

const STORM_TRIALS = 5;
const KILLS_PER_STORM = 15;
const PAYMENTS_PER_TRIAL = 3;
const FREEZE_MS = 20_000;
const RESTART_DOWN_MS = 8_000;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  await killAllBots();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The fakes, a database of its own, and a bot on it (through `viaProxy` when given). */
async function setUp(options: { viaProxy?: boolean } = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'satbell-dbfault-'));
  cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
  const discord = await startFakeDiscord({ interactionResponseMs: 60_000, waitTimeoutMs: 90_000 });
  cleanups.push(() => discord.close());
  const chain = new FakeChain();
  const api = await startBlockchainInfoFake({ chain });
  cleanups.push(() => api.close());
  const database = await createTestDatabaseUrl({ empty: true });
  cleanups.push(() => database.drop());
  const server = new URL(database.url);
  const proxy = options.viaProxy ? await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) }) : undefined;
  if (proxy) cleanups.push(() => proxy.close());
  // The test's own connection, straight to the server: to look and to kill.
  const admin = postgres(database.url, { max: 1, onnotice: () => {} });
  cleanups.push(() => admin.end({ timeout: 1 }));

  const guildId = discord.guilds[0]!.id;
  const channelId = discord.guilds[0]!.channels[0]!.id;
  const bot: BotRun = startBotProcess(
    {
      DISCORD_TOKEN: 'dbfault-token',
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: guildId,
      DATABASE_URL: proxy ? proxy.via(database.url) : database.url,
      BLOCKCHAIN_INFO_URL: api.url,
      EXPLORER_URL: 'https://explorer.test',
      SYNC_CRON: '* * * * * *',
      LOG_LEVEL: 'info',
    },
    cwd,
  );
  await bot.waitForLog('ready: commands registered', 60_000);
  await discord.runCommand({ guildId, name: 'config', subcommand: 'channel', options: { channel: channelId } }).reply();
  const notices = () => discord.channelMessages(channelId).filter((m) => !m.interactionId);
  /** Whether this server tracks `address`, as the database says. */
  const tracked = async (address: string) =>
    (await admin`select 1 from watches where guild_id = ${guildId} and address = ${address}`).length > 0;
  return { discord, chain, admin, proxy, bot, guildId, channelId, notices, tracked };
}

/** What an answer says: its embed's title, or its text. */
const said = (message: FakeMessage) => message.embeds[0]?.title ?? message.content;

/** Wait until every payment has its notice (or time runs out), then count notices per payment. */
async function announcements(notices: () => FakeMessage[], txids: string[], timeoutMs = 60_000) {
  const done = (messages: FakeMessage[]) => txids.every((txid) => messages.some((m) => noticeTxid(m) === txid));
  const final = await waitUntilStable(notices, done, { stableMs: 3_000, timeoutMs });
  const perTx = Object.fromEntries(txids.map((txid) => [txid, final.value.filter((m) => noticeTxid(m) === txid).length]));
  const lost = txids.filter((txid) => perTx[txid] === 0).length;
  const duplicated = txids.filter((txid) => perTx[txid]! > 1).length;
  const strangers = final.value.filter((m) => !txids.includes(noticeTxid(m) ?? '')).length;
  return { perTx, lost, duplicated, strangers, ms: final.ms };
}

describe('the database fails under a running bot', () => {
  for (const backend of testBackends()) {
    const onServer = backend === 'postgres';
    const needsServer = onServer ? '' : ' (skipped: PGlite runs in the bot process and has no connection to lose)';

    it.runIf(onServer)(
      `${backend}: postgres.js writing a killed transaction's ROLLBACK to its closed socket (porsager/postgres #1208) ` +
        `neither ends the process nor leaves a connection that never answers${needsServer}`,
      { timeout: 60_000 },
      async () => {
        const database = await createTestDatabaseUrl();
        cleanups.push(() => database.drop());
        const root = resolve(import.meta.dirname, '../..');
        const { stdout } = await promisify(execFile)(
          process.execPath,
          ['--import', resolve(root, 'node_modules/tsx/dist/loader.mjs'), resolve(root, 'test/support/closed-socket-write.ts'), database.url],
          { cwd: root, timeout: 50_000 },
        );
        const outcome = JSON.parse(stdout.trim().split('\n').at(-1)!) as { failedWith: string; faults: number; after: string[]; afterMs: number };
        // Without the pool's replacement, one of the 20 waits for connect_timeout (10 s) and fails CONNECT_TIMEOUT.
        expect(outcome).toMatchObject({ failedWith: 'CONNECTION_CLOSED', faults: 1, after: Array(20).fill('ok') });
        expect(outcome.afterMs).toBeLessThan(5_000);
      },
    );

    it.runIf(onServer)(
      `${backend}: ${STORM_TRIALS} storms of ${KILLS_PER_STORM} pg_terminate_backend each, during payments and commands: ` +
        `the process stays up, every command gets one true answer, every payment one notice${needsServer}`,
      { timeout: 150_000 },
      async () => {
        const { discord, chain, admin, bot, guildId, notices, tracked } = await setUp();
        const wallets = Array.from({ length: 3 }, (_, i) => testAddress(`dbstorm-wallet-${i}`));
        for (const address of wallets) chain.fund(address, 2_000_000n);
        chain.mine();
        for (const [i, address] of wallets.entries()) {
          expect(said(await discord.runCommand({ guildId, name: 'track', options: { address, label: `w${i}` } }).reply())).toBe('Now tracking');
        }

        const payments: string[] = [];
        const commands: { name: string; address: string; interaction: FakeInteraction }[] = [];
        let killed = 0;
        for (let trial = 0; trial < STORM_TRIALS; trial++) {
          // The storm: 15 rounds over about 3 s, each ending every connection the bot has.
          const storm = (async () => {
            for (let k = 0; k < KILLS_PER_STORM; k++) {
              const rows = await admin`select pg_terminate_backend(pid) as done from pg_stat_activity
                where application_name = 'satbell' and datname = current_database() and pid <> pg_backend_pid()`;
              killed += rows.filter((r) => r.done).length;
              await sleep(200);
            }
          })();
          // Meanwhile: payments to the tracked wallets, and commands, some of which write.
          const fresh = testAddress(`dbstorm-new-${trial}`);
          chain.fund(fresh, 10_000n + BigInt(trial));
          for (let p = 0; p < PAYMENTS_PER_TRIAL; p++) {
            payments.push(chain.fund(wallets[p % wallets.length]!, 1_000n + BigInt(trial * 10 + p)).txid);
            await sleep(300);
            if (p === 0) commands.push({ name: 'track', address: fresh, interaction: discord.runCommand({ guildId, name: 'track', options: { address: fresh } }) });
            if (p === 1) commands.push({ name: 'balance', address: wallets[0]!, interaction: discord.runCommand({ guildId, name: 'balance', options: { address: 'w0' } }) });
            if (p === 2) commands.push({ name: 'addresses', address: '', interaction: discord.runCommand({ guildId, name: 'addresses' }) });
          }
          await storm;
          expect(bot.alive(), `storm ${trial} ended the process:\n${bot.output().slice(-4_000)}`).toBe(true);
        }

        // Every command got an answer, and the answer is true to what the database holds.
        const answers = await Promise.all(commands.map(async (c) => ({ ...c, answer: await c.interaction.reply() })));
        const failed = answers.filter((a) => /Something went wrong/.test(said(a.answer)));
        for (const a of answers.filter((a) => a.name === 'track')) {
          const isTracked = await tracked(a.address);
          expect({ answer: said(a.answer), isTracked }, a.address).toEqual(
            isTracked ? { answer: 'Now tracking', isTracked } : { answer: expect.stringMatching(/Something went wrong/), isTracked },
          );
        }
        // One answer each: at most the private error that replaces a public "thinking…".
        expect(answers.filter((a) => a.interaction.followups.length > 1).map((a) => a.name)).toEqual([]);

        const result = await announcements(notices, payments);
        const survived = bot.logs().filter((l) => l.msg.startsWith('database driver wrote to a closed connection')).length;
        console.log(
          `[database storms] ${STORM_TRIALS} storms, ${killed} backends terminated, ${commands.length} commands ` +
            `(${failed.length} answered "Something went wrong"), ${payments.length} payments: lost ${result.lost}, ` +
            `duplicated ${result.duplicated}, delivered ${Math.round(result.ms / 1000)} s after the last storm; ` +
            `postgres.js closed-socket faults survived: ${survived}`,
        );
        expect(bot.alive(), bot.output().slice(-4_000)).toBe(true);
        expect(result, JSON.stringify(result.perTx)).toMatchObject({ lost: 0, duplicated: 0, strangers: 0 });
        expect(failed.map((a) => a.name), 'commands that failed although the database came back within seconds').toEqual([]);
        expect(await bot.stop()).toEqual({ code: 0, signal: null });
      },
    );

    it.runIf(onServer)(
      `${backend}: a database that stops answering for ${FREEZE_MS / 1000} s and then a restart that refuses connections ` +
        `for ${RESTART_DOWN_MS / 1000} s leave the process up, answer the commands, and announce each payment once after${needsServer}`,
      { timeout: 150_000 },
      async () => {
        const { discord, chain, proxy, bot, guildId, notices } = await setUp({ viaProxy: true });
        const wallet = testAddress('dbfreeze-wallet');
        chain.fund(wallet, 3_000_000n);
        chain.mine();
        expect(said(await discord.runCommand({ guildId, name: 'track', options: { address: wallet, label: 'frozen' } }).reply())).toBe('Now tracking');

        const payments: string[] = [];
        const commands: FakeInteraction[] = [];
        const outage = async (name: string, fault: () => Promise<void>) => {
          const before = notices().length;
          // One payment just before: its notice may be written, or posted, as the database goes.
          payments.push(chain.fund(wallet, 5_000n + BigInt(payments.length)).txid);
          await sleep(150);
          const during = fault();
          await sleep(1_000);
          payments.push(chain.fund(wallet, 6_000n + BigInt(payments.length)).txid);
          commands.push(discord.runCommand({ guildId, name: 'balance', options: { address: 'frozen' } }));
          await sleep(2_000);
          payments.push(chain.fund(wallet, 7_000n + BigInt(payments.length)).txid);
          await during;
          expect(bot.alive(), `${name} ended the process:\n${bot.output().slice(-4_000)}`).toBe(true);
          return before;
        };

        await outage('the freeze', async () => {
          proxy!.freeze();
          await sleep(FREEZE_MS);
          proxy!.resume();
        });
        await outage('the restart', () => proxy!.restart(RESTART_DOWN_MS));

        const answers = await Promise.all(commands.map((c) => c.reply()));
        const result = await announcements(notices, payments, 90_000);
        console.log(
          `[database outages] a ${FREEZE_MS / 1000} s freeze and a ${RESTART_DOWN_MS / 1000} s restart: ${commands.length} commands ` +
            `(${answers.map(said).join(' / ')}), ${payments.length} payments: lost ${result.lost}, duplicated ${result.duplicated}, ` +
            `all delivered ${Math.round(result.ms / 1000)} s after the restart; connections through the proxy: ${proxy!.accepted}`,
        );
        expect(answers.map(said)).toEqual(commands.map(() => 'frozen'));
        expect(result, JSON.stringify(result.perTx)).toMatchObject({ lost: 0, duplicated: 0, strangers: 0 });
        expect(bot.alive(), bot.output().slice(-4_000)).toBe(true);
        expect(await bot.stop()).toEqual({ code: 0, signal: null });
      },
    );
  }
});
