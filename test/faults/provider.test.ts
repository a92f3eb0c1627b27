/**
 * Data services that answer wrong, through the real bot: a negative balance, 300,000,000 BTC,
 * another address's history, truncated and malformed bodies, an oversized page. Nothing wrong is
 * ever stored or announced, every real payment is announced once (by the other service, or once
 * the service behaves), and rows that got in wrong by any path are healed by one sync.
 *
 * Each case runs TRIALS times; the tallies (what was stored or announced wrong, what was missed)
 * must all be zero, and are printed for docs/reliability.md.
 */
import { and, count, eq, isNull, lt } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addresses, addressTransactions, notices, transactions } from '../../src/db/schema.js';
import { noticeNonce } from '../../src/sync/notice-writer.js';
import type { FakeTx } from '../fakes/chain/index.js';
import type { FakeGuild, FakeMessage } from '../fakes/discord.js';
import { testAddress } from '../support/addresses.js';
import { testBackends } from '../support/database.js';
import { type Harness, startHarness, visibleText } from '../support/harness.js';
import { createCapturingLogger, type LogLine } from '../support/logs.js';

const TRIALS = 3;
const BTC = 100_000_000n;
let seed = 0;
const fresh = () => testAddress(`fault-provider-${process.pid}-${seed++}`);

const guild: FakeGuild = { id: '610000000000000001', name: 'Faults', channels: [{ id: '610000000000000011', name: 'alerts' }] };
const CHANNEL = guild.channels[0]!.id;

interface Tally {
  trials: number;
  /** trials in which the wrong answer was met and refused, as the log says */
  refused: number;
  /** stored figures or links that differ from the chain */
  storedWrong: number;
  /** notices of txs that did not touch the address, or with another amount, or absurd figures */
  falseNotices: number;
  /** real payments not announced exactly once */
  missed: number;
}
const tallies: Record<string, Tally> = {};
const tally = (name: string) => (tallies[name] ??= { trials: 0, refused: 0, storedWrong: 0, falseNotices: 0, missed: 0 });

afterAll(() => {
  console.log(`provider faults (${testBackends().join(', ')}):\n${JSON.stringify(tallies, null, 2)}`);
});

describe.each(testBackends())('data services that answer wrong (%s)', (backend) => {
  for (const withEsplora of [false, true]) {
    describe(withEsplora ? 'with Esplora standing by' : 'with Blockchain.com alone', () => {
      let h: Harness;
      const log = createCapturingLogger('warn');

      beforeAll(async () => {
        h = await startHarness({ backend, discord: { guilds: [guild] }, esplora: withEsplora, logger: log.logger });
        await h.reply('config', { channel: CHANNEL }, { subcommand: 'channel' });
      });
      afterAll(async () => {
        await h?.close();
      });

      const db = () => h.bot.database.db;
      const notes = () => h.discord.channelMessages(CHANNEL).filter((m) => !m.interactionId);
      const behave = () => {
        h.api.misbehave = {};
        h.api.clearFaults();
        if (h.esplora) h.esplora.misbehave = {};
      };

      async function sync() {
        await h.bot.syncNow();
        await expect
          .poll(async () => (await db().select({ n: count() }).from(notices).where(and(isNull(notices.failedAt), lt(notices.deliveredVersion, notices.version))))[0]?.n, { timeout: 15_000 })
          .toBe(0);
      }

      /** An address with a confirmed history, tracked while the service behaves. */
      async function tracked(): Promise<string> {
        const address = fresh();
        h.chain.fund(address, 100_000n);
        h.chain.mine();
        await h.reply('track', { address });
        return address;
      }

      /** An address nobody tracks with an incoming and an outgoing 0.004 BTC, as the issue saw. */
      function stranger(): string {
        const address = fresh();
        h.chain.fund(address, 400_000n);
        h.chain.mine();
        h.chain.addTx({ inputs: [{ address, value: 400_000n }], outputs: [{ address: fresh(), value: 399_000n }] });
        h.chain.mine();
        return address;
      }

      /**
       * How many stored figures and links differ from the chain, leaving out `unseen` txs (real
       * ones the bot could not have fetched yet: missing them is late, not wrong).
       */
      async function storedWrong(unseen: ReadonlySet<string> = new Set()): Promise<number> {
        const links = await db().select().from(addressTransactions);
        let wrong = 0;
        for (const row of await db().select().from(addresses)) {
          const set = new Set([row.address]);
          const real = new Map(h.chain.txsOf(set).filter((t) => !unseen.has(t.txid)).map((t) => [t.txid, h.chain.netOf(t, set)]));
          const mine = links.filter((l) => l.address === row.address);
          if (row.balance !== [...real.values()].reduce((a, b) => a + b, 0n)) wrong++;
          if (row.txCount !== real.size) wrong++;
          wrong += mine.filter((l) => real.get(l.txid) !== l.net).length;
          wrong += [...real.keys()].filter((txid) => !mine.some((l) => l.txid === txid)).length;
        }
        return wrong;
      }

      /** Notices that say what the chain did not: not the address's tx, another amount, or absurd figures. */
      async function falseNotices(): Promise<number> {
        const rows = await db().select().from(notices);
        const lies = rows.filter((n) => {
          if (n.payload.status === 'removed') return false; // corrected, and saying so
          const tx = n.txid ? h.chain.getTx(n.txid) : undefined;
          return !tx || String(h.chain.netOf(tx, new Set([n.address]))) !== n.payload.net;
        }).length;
        const absurd = notes().filter((m) => /New balance: -|300000000\.|300,000,000/.test(noticeText(m))).length;
        return lies + absurd;
      }

      /** 1 unless exactly one message announces `tx` */
      const missed = (tx: FakeTx) => (notes().filter((m) => m.embeds[0]?.url?.endsWith(`/tx/${tx.txid}`)).length === 1 ? 0 : 1);

      /** the log lines since `mark` whose error says `message` */
      const logged = (mark: number, message: string) => log.lines.slice(mark).filter((l: LogLine) => (l.err?.message ?? '').includes(message));

      /**
       * Blockchain.com asked first again, as once its cooldown is over (a failed provider rests for
       * 5 minutes): Esplora failing once, too, sets both aside, and then the first in the list is
       * asked first. So every trial meets the bad answer, not only the first.
       */
      async function trackedWithBlockchainComFirst(): Promise<string> {
        h.esplora!.failNext(/^\/address\//, { status: 404, contentType: 'text/plain', body: 'Not Found' });
        const address = await tracked();
        h.esplora!.clearFaults();
        return address;
      }

      /**
       * One trial: a payment arrives while the service answers wrong; a sync stores and announces
       * nothing wrong (Esplora, when standing by, serves instead); then the service behaves and a
       * sync later the payment has been announced once.
       */
      async function trial(name: string, misbehave: (address: string) => string) {
        const t = tally(`${name}${withEsplora ? ' (failover)' : ''}`);
        const address = withEsplora ? await trackedWithBlockchainComFirst() : await tracked();
        const expected = misbehave(address);
        const payment = h.chain.fund(address, 12_345n + BigInt(seed));
        const mark = log.lines.length;
        try {
          await sync();
        } finally {
          t.trials++;
        }
        // Alone, the payment waits for the service; with Esplora it may already be in.
        t.storedWrong += await storedWrong(withEsplora ? new Set() : new Set([payment.txid]));
        t.falseNotices += await falseNotices();
        const said = logged(mark, expected);
        if (said.length) t.refused++;
        if (withEsplora) {
          t.missed += missed(payment);
          // Said once, in words that say what was wrong, as the failover passed to Esplora.
          expect(said.map((l) => l.msg), JSON.stringify(log.lines.slice(mark))).toEqual(['provider failed; trying the next']);
        } else {
          expect(missed(payment)).toBe(1);
          expect(said.length, JSON.stringify(log.lines.slice(mark))).toBeGreaterThan(0);
        }
        behave();
        await sync();
        t.storedWrong += await storedWrong();
        t.falseNotices += await falseNotices();
        if (!withEsplora) t.missed += missed(payment);
        expect(t).toMatchObject({ storedWrong: 0, falseNotices: 0, missed: 0 });
      }

      const cases: [string, (address: string) => string][] = [
        [
          'negative balance',
          (address) => {
            h.api.misbehave = { figures: { final_balance: -729_695n } };
            // The first address of the batch is the one named.
            return address && 'balance is negative (-0.00729695 BTC)';
          },
        ],
        [
          '300,000,000 BTC',
          (address) => {
            h.api.misbehave = { figures: { final_balance: 300_000_000n * BTC, total_received: 300_000_000n * BTC, total_sent: 0n } };
            return address && 'balance is beyond the 21,000,000 BTC that will ever exist (300000000.00000000 BTC)';
          },
        ],
        [
          '/rawaddr for another address',
          (address) => {
            const other = stranger();
            h.api.misbehave = { rawaddrOf: other };
            // The first address the sync refreshes is the one named.
            return address && `answered for another address (${other})`;
          },
        ],
        [
          "/rawaddr with another address's txs under this one's name",
          (address) => {
            h.api.misbehave = { rawaddrOf: stranger(), claimAsked: true };
            return address && 'neither pays nor spends';
          },
        ],
        [
          'truncated /rawaddr body',
          (address) => {
            h.api.corruptNext(/^\/rawaddr\//, 'truncated', withEsplora ? 1 : 100);
            return address && 'returned a body that is not JSON';
          },
        ],
        [
          'malformed /balance body',
          () => {
            h.api.corruptNext(/^\/balance$/, 'malformed', withEsplora ? 1 : 100);
            return 'blockchain.info: /balance returned a body that is not JSON';
          },
        ],
      ];

      for (const [name, misbehave] of cases) {
        it(`stores and announces nothing wrong, and misses no payment, with ${name} (${TRIALS} trials)`, async () => {
          try {
            for (let i = 0; i < TRIALS; i++) await trial(name, misbehave);
          } finally {
            behave();
            // A corruption left armed (a sync asked fewer times) must not spill into the next case.
            await sync();
          }
        });
      }

      it(`heals a foreign tx, a wrong balance and a deleted real tx within one sync once the service behaves (${TRIALS} trials)`, async () => {
        const t = tally(`heal of injected rows${withEsplora ? ' (failover)' : ''}`);
        for (let i = 0; i < TRIALS; i++) {
          const [victim, skewed, gappy] = [await tracked(), await tracked(), await tracked()];
          h.chain.fund(gappy, 5_000n);
          h.chain.mine();
          await sync();
          // A foreign tx linked (as storing another address's /rawaddr did), announced to the channel.
          const other = stranger();
          const [foreign] = h.chain.txsOf(new Set([other]));
          await db()
            .insert(transactions)
            .values({ txid: foreign!.txid, blockHeight: foreign!.block!.height, time: new Date(foreign!.block!.time * 1000), fee: foreign!.fee });
          await db().insert(addressTransactions).values({ address: victim, txid: foreign!.txid, net: -399_000n - BigInt(i) });
          await db()
            .update(addresses)
            .set({ balance: 100_000n - 399_000n - BigInt(i), txCount: 2 })
            .where(eq(addresses.address, victim));
          await db().insert(notices).values({
            guildId: guild.id,
            channelId: CHANNEL,
            address: victim,
            kind: 'tx',
            txid: foreign!.txid,
            nonce: noticeNonce([guild.id, foreign!.txid]),
            payload: { label: null, address: victim, net: String(-399_000n - BigInt(i)), balanceAfter: String(100_000n - 399_000n - BigInt(i)), fee: '0', status: 'confirmed', blockHeight: h.chain.height },
            nextAttemptAt: new Date(),
            createdAt: new Date(),
          });
          await db().update(addresses).set({ balance: 300_000_000n * BTC }).where(eq(addresses.address, skewed));
          const [newest] = h.chain.txsOf(new Set([gappy]));
          const announcedOf = (tx: FakeTx) => notes().filter((m) => m.embeds[0]?.url?.endsWith(`/tx/${tx.txid}`)).length;
          const newestNotices = announcedOf(newest!);
          await db().delete(addressTransactions).where(and(eq(addressTransactions.address, gappy), eq(addressTransactions.txid, newest!.txid)));
          // While every service answers wrong, nothing can be mended, and nothing gets worse.
          h.api.misbehave = { rawaddrOf: other };
          if (h.esplora) h.esplora.misbehave = { addressOf: other };
          const mark = log.lines.length;
          await sync();
          if (logged(mark, `answered for another address (${other})`).length) t.refused++;
          const posted = notes().find((m) => m.embeds[0]?.url?.endsWith(`/tx/${foreign!.txid}`));
          expect(posted && noticeText(posted)).toContain('Outgoing');

          behave();
          await sync();
          t.trials++;
          t.storedWrong += await storedWrong();
          t.falseNotices += await falseNotices();
          const edited = notes().find((m) => m.id === posted!.id)!;
          if (!noticeText(edited).includes('Not on the chain')) t.falseNotices++;
          expect(edited.embeds[0]?.color).toBe(0x95a5a6);
          // The real tx put back was announced when it happened, and is not announced again.
          t.falseNotices += announcedOf(newest!) - newestNotices;
          expect(newestNotices).toBe(1);
          expect(t).toMatchObject({ refused: t.trials, storedWrong: 0, falseNotices: 0 });
        }
      });
    });
  }
});

/** Every field of a notice embed as one text, the way a reader takes it in. */
function noticeText(m: FakeMessage): string {
  return [visibleText(m), ...m.embeds.flatMap((e) => (e.fields ?? []).map((f) => `${f.name}: ${f.value}`))].join('\n');
}
