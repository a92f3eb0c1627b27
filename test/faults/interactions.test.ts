import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watches } from '../../src/db/schema.js';
import type { FakeInteraction, FakeMessage, LostResponse } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { testBackends } from '../support/database.js';
import { finalReply, type Harness, outboxSettled, privateError, startHarness, visibleText } from '../support/harness.js';

const DEFERRED = 5;
const IMMEDIATE = 4;
let seed = 0;
const fresh = () => testAddress(`faults-interactions-${seed++}`);

/** Control and invisible characters a member can paste into any text option. */
const CONTROL = ['\u0000', '\u0001', '\u001b', '\u007f', '\u202e', '\u2066', '\ufeff'];
/** Labels that would put a link, a ping or formatting into every notice of their address. */
const HOSTILE = [
  { label: '[click me](http://evil.example/login)', problem: 'cannot contain a link' },
  { label: '<http://evil.example>', problem: 'cannot contain a link' },
  { label: 'https://evil.example', problem: 'cannot contain a link' },
  { label: 'free www.evil.example', problem: 'cannot contain a link' },
  { label: '@everyone', problem: 'cannot mention' },
  { label: 'hi <@123>', problem: 'cannot mention' },
  { label: '**bold**', problem: 'cannot contain `*`' },
  { label: '# loud', problem: 'cannot contain a `#` heading' },
  { label: 'a_b', problem: 'cannot contain `_`' },
];
/** The same labels, as an older version stored them, unchecked. */
const STORED = ['[click me](http://evil.example/login)', '<http://evil.example> @everyone', 'https://evil.example <@123> **bold**'];

/** How long a run may take before the dispatcher gives up on it, in these tests. */
const COMMAND_TIMEOUT_MS = 6_000;

describe.each(testBackends())('interactions under faults and hostile input (%s)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backend, bot: { commandTimeoutMs: COMMAND_TIMEOUT_MS } });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function track(label?: string) {
    const address = fresh();
    h.chain.fund(address, 70_000n);
    const reply = await h.reply('track', label ? { address, label } : { address });
    expect(visibleText(reply)).toContain('Now tracking');
    return address;
  }

  /**
   * The database stops answering the bot's commands: a transaction of the bot's own holds both
   * tables every command reads (on PGlite, whose one connection serialises every query, it also
   * holds everything else). `select pg_sleep` would not do on PGlite: it blocks the event loop.
   */
  async function freezeDatabase(): Promise<() => Promise<void>> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const transaction = h.bot.database.db.transaction(async (tx) => {
      await tx.execute(sql`lock table watches, addresses in access exclusive mode`);
      holding();
      await released;
    });
    await held;
    return async () => {
      release();
      await transaction;
    };
  }

  /** What the bot sent with this interaction's token: callbacks, webhook posts, edits. */
  const requestsOf = (interaction: FakeInteraction) =>
    h.discord.requests.filter((r) => r.path.includes(interaction.token) || r.path.includes(`/interactions/${interaction.id}/`));

  /** Exactly one answer a user can see: one callback taken, no followup, one message in the channel. */
  function expectOneAnswer(interaction: FakeInteraction) {
    expect(interaction.callbacks).toHaveLength(1);
    expect(interaction.followups).toHaveLength(0);
    const channelId = h.discord.guilds[0]!.channels[0]!.id;
    expect(h.discord.channelMessages(channelId).filter((m) => m.interactionId === interaction.id)).toHaveLength(1);
    const posts = requestsOf(interaction).filter((r) => r.method === 'POST' && r.path.startsWith('/webhooks/'));
    expect(posts).toHaveLength(0);
  }

  describe('a callback Discord took but whose response was lost', () => {
    it.each<LostResponse>(['error', 'drop'])('/track (deferred) shows its answer once after a lost callback response (%s)', async (lost) => {
      const address = fresh();
      h.chain.fund(address, 120_000n);
      const interaction = h.run('track', { address, label: `lost ${lost}` }, { loseCallbackResponse: lost });
      const reply = await finalReply(interaction);
      expect(visibleText(reply)).toContain('Now tracking');
      expect(visibleText(reply)).toContain('0.00120000 BTC');
      expect(interaction.callbacks[0]?.type).toBe(DEFERRED);
      expectOneAnswer(interaction);
      // The retry was refused with 40060, as Discord refuses a second callback.
      expect(requestsOf(interaction).filter((r) => r.path.endsWith('/callback')).map((r) => r.status)).toEqual(
        lost === 'error' ? [500, 400] : [0, 400],
      );
    });

    it.each<[string, LostResponse, string]>([
      ['addresses', 'error', 'Tracked addresses'],
      ['help', 'drop', 'satbell commands'],
      ['addresses', 'drop', 'Tracked addresses'],
      ['help', 'error', 'satbell commands'],
    ])('/%s (answered at once) shows its answer once after a lost callback response (%s)', async (name, lost, shows) => {
      const interaction = h.run(name, {}, { loseCallbackResponse: lost });
      const reply = await interaction.reply();
      expect(visibleText(reply)).toContain(shows);
      expect(interaction.callbacks[0]?.type).toBe(IMMEDIATE);
      // Give a mistaken second answer time to show up before counting.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expectOneAnswer(interaction);
    });
  });

  describe('a frozen database', () => {
    it('acknowledges /balance, /addresses and /txns within 3 s and answers once the database is back; autocomplete answers empty in time', async () => {
      const address = await track('frozen');
      const release = await freezeDatabase();
      let runs: FakeInteraction[];
      try {
        runs = [h.run('balance', { address: 'frozen' }), h.run('addresses'), h.run('txns', { address })];
        const typed = Date.now();
        // Autocomplete has no "thinking…": it answers in time with nothing rather than not at all.
        expect(await h.discord.autocomplete({ guildId: h.guildId, name: 'balance', focused: 'address', value: 'fro' })).toEqual([]);
        expect(Date.now() - typed).toBeLessThan(3_000);
        await expect.poll(() => runs.every((r) => r.acknowledgedAt !== null), { timeout: 3_000, interval: 50 }).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 2_500));
      } finally {
        await release();
      }
      for (const run of runs) {
        expect(run.acknowledgedAt! - run.createdAt).toBeLessThan(3_000);
        expect(run.callbacks.map((c) => c.type)).toEqual([DEFERRED]);
      }
      const [balance, list, txns] = await Promise.all(runs.map((r) => r.reply()));
      expect(visibleText(balance!)).toContain('0.00070000 BTC');
      expect(visibleText(list!)).toContain(address);
      expect(visibleText(txns!)).toContain('+0.00070000 BTC');
    });

    it('gives up on a run that outlasts its bound, saying to try again for a read and "unknown" for a change', async () => {
      const address = await track('stuck');
      const release = await freezeDatabase();
      let read: FakeInteraction;
      let change: FakeInteraction;
      let readError: FakeMessage;
      let changeError: FakeMessage;
      try {
        read = h.run('balance', { address: 'stuck' });
        change = h.run('untrack', { address });
        [readError, changeError] = await Promise.all([privateError(read), privateError(change)]);
      } finally {
        await release();
      }
      for (const run of [read, change]) expect(run.acknowledgedAt! - run.createdAt).toBeLessThan(3_000);
      expect(readError.content).toContain('`/balance` did not finish');
      expect(readError.content).toContain('Try again in a minute.');
      expect(readError.content).not.toContain('Nothing was changed');
      expect(changeError.content).toContain('`/untrack` did not finish');
      expect(changeError.content).toContain('whether it went through is unknown');
      expect(changeError.content).toContain('check with `/addresses`');
      expect(changeError.content).not.toContain('Nothing was changed');
    });
  });

  describe('control characters', () => {
    it('refuses a control character in every text option with a clear private message, asking no provider and storing nothing', async () => {
      const tracked = await track('control');
      const calls = h.api.requests.length;
      for (const char of CONTROL) {
        const valid = fresh();
        const inputs: [string, Record<string, string>][] = [
          ['track', { address: `${valid.slice(0, 10)}${char}${valid.slice(10)}` }],
          ['track', { address: valid, label: `cold${char}storage` }],
          ['untrack', { address: `control${char}` }],
          ['balance', { address: `${char}${tracked}` }],
          ['txns', { address: `con${char}trol` }],
          ['label', { address: `control${char}`, label: 'renamed' }],
          ['label', { address: tracked, label: `new${char}` }],
        ];
        for (const [name, options] of inputs) {
          const reply = await privateError(h.run(name, options));
          expect(reply.content, `/${name} ${JSON.stringify(options)}`).toMatch(/contains an invisible control character \(U\+[0-9A-F]{4}\), which is not allowed/);
          expect(reply.content).not.toContain(char);
        }
        const threshold = await privateError(h.run('config', { btc: `0.1${char}` }, { subcommand: 'threshold' }));
        expect(threshold.content).toContain('The amount contains an invisible control character');
        expect(await h.discord.autocomplete({ guildId: h.guildId, name: 'balance', focused: 'address', value: `con${char}` })).toEqual([]);
      }
      expect(h.api.requests.length).toBe(calls);
      expect(visibleText(await h.reply('config', {}, { subcommand: 'show' }))).toContain('any change');
      const list = visibleText(await h.reply('addresses'));
      expect(list).toContain('**control**');
      expect(list).not.toContain('renamed');
    });
  });

  describe('hostile labels', () => {
    it.each(HOSTILE)('refuses the label $label in /track and /label, saying why', async ({ label, problem }) => {
      const address = fresh();
      h.chain.fund(address, 10_000n);
      const calls = h.api.requests.length;
      const refused = await privateError(h.run('track', { address, label }));
      expect(refused.content).toContain(problem);
      expect(h.api.requests.length).toBe(calls);

      const renamed = await privateError(h.run('label', { address, label }));
      expect(renamed.content).toContain(problem);
      expect(visibleText(await h.reply('addresses'))).not.toContain(address);
    });

    it('shows labels stored by an older version as plain text in notices, replies and errors, and never asks to ping', async () => {
      await h.reply('config', { channel: 'general' }, { subcommand: 'channel' });
      await h.reply('config', { btc: '0' }, { subcommand: 'threshold' });
      const addresses: string[] = [];
      for (const [i, label] of STORED.entries()) {
        const address = await track(`stored ${i}`);
        await h.bot.database.db.update(watches).set({ label }).where(and(eq(watches.guildId, h.guildId), eq(watches.address, address)));
        addresses.push(address);
      }
      const channelId = h.discord.guilds[0]!.channels[0]!.id;
      const noticesBefore = h.discord.channelMessages(channelId).filter((m) => !m.interactionId).length;
      h.chain.fund(addresses[0]!, 5_000n);
      h.chain.fund(addresses[1]!, 6_000n);
      h.chain.fund(addresses[2]!, 7_000n);
      expect(await h.bot.syncNow()).toBe('completed');
      await outboxSettled(h, { timeout: 15_000 });
      const posted = h.discord.channelMessages(channelId).filter((m) => !m.interactionId).slice(noticesBefore);
      expect(posted).toHaveLength(3);

      const replies = [
        await h.reply('addresses'),
        ...(await Promise.all(addresses.map((address) => h.reply('balance', { address })))),
        ...(await Promise.all(addresses.map((address) => h.reply('txns', { address })))),
        await privateError(h.run('track', { address: addresses[0]! })),
        await h.reply('untrack', { address: addresses[2]! }),
      ];
      const shown = [...posted, ...replies].map((m) => [visibleText(m), ...m.embeds.map((e) => e.title ?? '')].join('\n')).join('\n');
      expect(shown).toContain('click me');
      expect(shown).not.toMatch(/\]\((?!https:\/\/explorer\.test\/)/);
      expect(shown).not.toMatch(/(?<!\\)<http/);
      expect(shown).not.toMatch(/https?:\/\/(?!explorer\.test\/)/);
      expect(shown).not.toMatch(/(?<!\\)\*\*bold/);
      expect(shown).not.toMatch(/@everyone|<@123>/);

      // Every message the bot sent, reply, edit, followup or notice, asks Discord to ping nobody.
      const bodies = h.discord.requests
        .filter((r) => r.method === 'POST' || r.method === 'PATCH')
        .map((r) => ((r.body as { type?: number; data?: unknown })?.type !== undefined && r.path.endsWith('/callback') ? (r.body as { data?: unknown }).data : r.body))
        .filter((b): b is Record<string, unknown> => typeof b === 'object' && b !== null && ('content' in b || 'embeds' in b));
      expect(bodies.length).toBeGreaterThan(50);
      for (const body of bodies) expect(body.allowed_mentions, JSON.stringify(body).slice(0, 200)).toEqual({ parse: [] });
    });
  });
});
