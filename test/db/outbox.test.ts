import { setTimeout as sleep } from 'node:timers/promises';
import { eq, sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../../src/db/client.js';
import { guildSettings, type NoticePayload, notices } from '../../src/db/schema.js';
import { noticeNonce } from '../../src/sync/notice-writer.js';
import { DeliveryError } from '../../src/sync/notice-port.js';
import { countUndelivered, createNoticeDispatcher, type DispatcherOptions } from '../../src/sync/notice-dispatcher.js';
import { testAddress } from '../support/addresses.js';
import { createTestDatabase, testBackends } from '../support/database.js';
import { gate, NoticeChannels, RecordingTransport } from '../support/notice-transport.js';

describe.each(testBackends())('notice dispatcher on %s', (backend) => {
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let channels: NoticeChannels;
  let transport: RecordingTransport;
  let guilds = 0;
  let seq = 0;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.close();
  });
  // The dispatcher delivers whatever is due in the whole table: each test starts from an empty one.
  beforeEach(async () => {
    await database.db.delete(notices);
    await database.db.delete(guildSettings);
    channels = new NoticeChannels();
    transport = new RecordingTransport(channels);
  });

  const dispatcher = (options: Partial<DispatcherOptions> = {}) =>
    createNoticeDispatcher({ db: database.db, transport, logger, backoffMs: () => 0, ...options });

  /** A server with a notice channel, and a settings row to record delivery errors in. */
  async function newGuild(): Promise<{ guildId: string; channelId: string }> {
    const n = BigInt(++guilds);
    const guild = { guildId: String(700000000000000000n + n), channelId: String(710000000000000000n + n) };
    await database.db.insert(guildSettings).values({ ...guild, updatedAt: new Date() });
    return guild;
  }

  /** A pending 'tx' notice, due now, as the writer leaves it. */
  async function addNotice(guild: { guildId: string; channelId: string }): Promise<bigint> {
    const txid = `${String(++seq).padStart(4, '0')}${'ab'.repeat(30)}`;
    const address = testAddress(`outbox-${seq}`);
    const payload: NoticePayload = {
      label: `wallet ${seq}`,
      address,
      net: String(1_000n * BigInt(seq)),
      balanceAfter: String(5_000n * BigInt(seq)),
      fee: '141',
      status: 'unconfirmed',
      blockHeight: null,
      time: new Date().toISOString(),
    };
    const past = new Date(Date.now() - 60_000);
    const [row] = await database.db
      .insert(notices)
      .values({
        ...guild,
        address,
        kind: 'tx',
        txid,
        nonce: noticeNonce([guild.guildId, txid]),
        payload,
        nextAttemptAt: past,
        createdAt: past,
      })
      .returning({ id: notices.id });
    return row!.id;
  }

  const row = async (id: bigint) => (await database.db.select().from(notices).where(eq(notices.id, id)))[0]!;
  const settingsOf = async (guildId: string) =>
    (await database.db.select().from(guildSettings).where(eq(guildSettings.guildId, guildId)))[0]!;

  /** What the writer does when the transaction confirms: the message should say something new. */
  async function confirm(id: bigint, blockHeight = 870_000): Promise<void> {
    const patch = JSON.stringify({ status: 'confirmed', blockHeight });
    await database.db
      .update(notices)
      .set({ payload: sql`${notices.payload} || ${patch}::jsonb`, version: sql`${notices.version} + 1` })
      .where(eq(notices.id, id));
  }

  it('posts a pending notice once and marks it delivered with the message id', async () => {
    const guild = await newGuild();
    const id = await addNotice(guild);

    expect(await dispatcher().deliverDue()).toBe(1);

    expect(transport.calls).toHaveLength(1);
    const [call] = transport.calls;
    expect(call).toMatchObject({ op: 'post', noticeId: id, channelId: guild.channelId, version: 1 });
    expect(call!.nonce.length).toBeLessThanOrEqual(25);
    expect(channels.inChannel(guild.channelId)).toHaveLength(1);
    expect(await row(id)).toMatchObject({
      messageId: call!.messageId,
      deliveredVersion: 1,
      claimedUntil: null,
      lastError: null,
      failedAt: null,
      attempts: 1,
    });

    // Nothing is left to do: a second pass neither posts nor edits.
    expect(await dispatcher().deliverDue()).toBe(0);
    expect(transport.calls).toHaveLength(1);
  });

  it('edits the posted message when the notice changes, and never posts it again', async () => {
    const guild = await newGuild();
    const id = await addNotice(guild);
    const d = dispatcher();
    await d.deliverDue();
    const messageId = (await row(id)).messageId!;

    await confirm(id);
    expect(await d.deliverDue()).toBe(1);

    expect(transport.posts).toHaveLength(1);
    expect(transport.edits).toEqual([
      expect.objectContaining({ messageId, version: 2, payload: expect.objectContaining({ status: 'confirmed', blockHeight: 870_000 }) }),
    ]);
    expect(channels.inChannel(guild.channelId)).toEqual([
      expect.objectContaining({ id: messageId, version: 2, edits: 1, payload: expect.objectContaining({ status: 'confirmed' }) }),
    ]);
    expect(await row(id)).toMatchObject({ messageId, deliveredVersion: 2, version: 2, claimedUntil: null });
    expect(await d.deliverDue()).toBe(0);
  });

  it('follows a change made while the post was in flight with an edit', async () => {
    const guild = await newGuild();
    const id = await addNotice(guild);
    // The transaction confirms while Discord is still answering the post.
    transport.before = async (op) => {
      if (op === 'post') await confirm(id);
    };

    await dispatcher().deliverDue();

    expect(transport.calls.map((c) => [c.op, c.version])).toEqual([
      ['post', 1],
      ['edit', 2],
    ]);
    expect(channels.inChannel(guild.channelId)).toEqual([expect.objectContaining({ version: 2, payload: expect.objectContaining({ status: 'confirmed' }) })]);
    expect(await row(id)).toMatchObject({ deliveredVersion: 2, version: 2 });
  });

  it.each([
    ['a transient DeliveryError', () => new DeliveryError('Discord answered 500', 'transient')],
    ['a plain Error', () => new Error('socket hang up')],
  ])('retries %s after the backoff, and delivers once', async (_, failure) => {
    const guild = await newGuild();
    const id = await addNotice(guild);
    const backoffs: number[] = [];
    const d = dispatcher({
      backoffMs: (attempt) => {
        backoffs.push(attempt);
        return 400;
      },
    });
    let failures = 1;
    transport.before = () => {
      if (failures-- > 0) throw failure();
    };

    expect(await d.deliverDue()).toBe(1);
    const failed = await row(id);
    expect(failed).toMatchObject({ deliveredVersion: 0, messageId: null, claimedUntil: null, failedAt: null, attempts: 1 });
    expect(failed.lastError).toMatch(/500|socket hang up/);
    expect(failed.nextAttemptAt.getTime()).toBeGreaterThan(Date.now());
    expect(backoffs).toEqual([1]);

    // Not before the backoff has passed...
    expect(await d.deliverDue()).toBe(0);
    expect(transport.calls).toHaveLength(1);

    // ...and then once.
    await sleep(450);
    expect(await d.deliverDue()).toBe(1);
    expect(transport.posts.map((c) => c.nonce)).toEqual([failed.nonce, failed.nonce]);
    expect(channels.inChannel(guild.channelId)).toHaveLength(1);
    expect(await row(id)).toMatchObject({ deliveredVersion: 1, lastError: null, failedAt: null, attempts: 2 });
    expect(await d.deliverDue()).toBe(0);
    expect(transport.calls).toHaveLength(2);
  });

  it('shows one message when a post reached Discord but its answer was lost', async () => {
    const guild = await newGuild();
    const id = await addNotice(guild);
    let lost = 1;
    transport.after = (op) => {
      if (op === 'post' && lost-- > 0) throw new DeliveryError('timed out waiting for Discord', 'transient');
    };

    await dispatcher().deliverDue();

    // The retry looked in the channel first, found the first post and edited it: no second post.
    const shown = channels.inChannel(guild.channelId);
    expect(shown).toHaveLength(1);
    expect(transport.posts).toHaveLength(1);
    expect(transport.finds).toEqual([{ noticeId: id, found: shown[0]!.id }]);
    expect(transport.edits.map((c) => c.messageId)).toEqual([shown[0]!.id]);
    expect(await row(id)).toMatchObject({ messageId: shown[0]!.id, deliveredVersion: 1 });
  });

  it('edits the message a lost post left, even after Discord forgot its nonce', async () => {
    const guild = await newGuild();
    const id = await addNotice(guild);
    let lost = 1;
    transport.after = (op) => {
      if (op === 'post' && lost-- > 0) {
        // A long outage follows: by the retry, a post with the same nonce would show twice.
        channels.forgetNonces();
        throw new DeliveryError('Discord answered 503', 'transient');
      }
    };
    await confirm(id);

    await dispatcher().deliverDue();

    const shown = channels.inChannel(guild.channelId);
    expect(shown).toEqual([expect.objectContaining({ version: 2 })]);
    expect(transport.posts).toHaveLength(1);
    expect(await row(id)).toMatchObject({ messageId: shown[0]!.id, deliveredVersion: 2 });
  });

  it('looks for nothing on a first attempt, and posts again with the same nonce when the channel shows no earlier post', async () => {
    const guild = await newGuild();
    const id = await addNotice(guild);
    let failures = 1;
    transport.before = (op) => {
      if (op === 'post' && failures-- > 0) throw new DeliveryError('Discord answered 503', 'transient');
    };

    await dispatcher().deliverDue();

    expect(transport.finds).toEqual([{ noticeId: id, found: null }]);
    expect(transport.posts.map((c) => [c.nonce, c.error ? 'failed' : 'ok'])).toEqual([
      [(await row(id)).nonce, 'failed'],
      [(await row(id)).nonce, 'ok'],
    ]);
    expect(channels.inChannel(guild.channelId)).toHaveLength(1);
  });

  it('posts nothing while the channel cannot be searched, and retries the search later', async () => {
    const guild = await newGuild();
    const id = await addNotice(guild);
    let lost = 1;
    transport.after = (op) => {
      if (op === 'post' && lost-- > 0) {
        channels.forgetNonces();
        throw new DeliveryError('Discord answered 503', 'transient');
      }
    };
    let unreadable = 2;
    transport.beforeFind = () => {
      if (unreadable-- > 0) throw new DeliveryError('Discord answered 503', 'transient');
    };
    const d = dispatcher({ backoffMs: () => 50 });

    await d.deliverDue();
    for (let i = 0; i < 3; i++) {
      await sleep(80);
      await d.deliverDue();
    }

    expect(transport.finds.map((f) => (f.error ? 'failed' : f.found))).toEqual(['failed', 'failed', transport.posts[0]!.messageId]);
    expect(transport.posts).toHaveLength(1);
    const shown = channels.inChannel(guild.channelId);
    expect(shown).toHaveLength(1);
    expect(await row(id)).toMatchObject({ messageId: shown[0]!.id, deliveredVersion: 1, lastError: null });
  });

  it('brings a re-posted message up to date when the notice changed after a crash mid-post', async () => {
    const guild = await newGuild();
    const id = await addNotice(guild);
    // The post reaches Discord, then the process dies before recording it.
    const crashed = new RecordingTransport(channels);
    crashed.after = () => new Promise<never>(() => {});
    void createNoticeDispatcher({ db: database.db, transport: crashed, logger, claimMs: 300 }).deliverDue();
    await expect.poll(() => crashed.calls.length).toBe(1);

    // Meanwhile the transaction confirms; the restarted dispatcher finds the message as first
    // posted in the channel.
    await confirm(id);
    await sleep(400);
    expect(await dispatcher().deliverDue()).toBe(1);

    const shown = channels.inChannel(guild.channelId);
    expect(shown).toEqual([expect.objectContaining({ version: 2, edits: 1 })]);
    expect(await row(id)).toMatchObject({ messageId: shown[0]!.id, deliveredVersion: 2 });
  });

  it('keeps the message id of a post whose follow-up edit failed, and retries with an edit', async () => {
    const guild = await newGuild();
    const id = await addNotice(guild);
    await confirm(id); // changed before its first post: the post is followed by an edit
    let failures = 1;
    transport.before = (op) => {
      if (op === 'edit' && failures-- > 0) throw new DeliveryError('Discord answered 502', 'transient');
    };
    const d = dispatcher();
    await d.deliverDue();
    const shown = channels.inChannel(guild.channelId);
    expect(shown).toHaveLength(1);
    expect(await row(id)).toMatchObject({ messageId: shown[0]!.id });
    expect(transport.calls.map((c) => [c.op, c.error ? 'failed' : 'ok'])).toEqual([
      ['post', 'ok'],
      ['edit', 'failed'],
      ['edit', 'ok'],
    ]);
  });

  it('retries a failed edit as an edit of the same message', async () => {
    const guild = await newGuild();
    const id = await addNotice(guild);
    const d = dispatcher();
    await d.deliverDue();
    const messageId = (await row(id)).messageId!;
    let failures = 1;
    transport.before = (op) => {
      if (op === 'edit' && failures-- > 0) throw new DeliveryError('Discord answered 502', 'transient');
    };

    await confirm(id);
    await d.deliverDue();

    expect(transport.calls.map((c) => [c.op, c.messageId, c.error ? 'failed' : 'ok'])).toEqual([
      ['post', messageId, 'ok'],
      ['edit', messageId, 'failed'],
      ['edit', messageId, 'ok'],
    ]);
    expect(channels.inChannel(guild.channelId)).toEqual([expect.objectContaining({ id: messageId, version: 2 })]);
  });

  it('gives up on a permanent failure, records it for the server, and still delivers to other servers', async () => {
    const gone = await newGuild();
    const fine = await newGuild();
    const ids = [await addNotice(gone), await addNotice(fine), await addNotice(gone), await addNotice(fine)];
    transport.before = (_, notice) => {
      if (notice.channelId === gone.channelId) throw new DeliveryError('Missing Access', 'permanent');
    };
    const d = dispatcher();

    expect(await d.deliverDue()).toBe(4);

    // Each notice was tried exactly once, in order.
    expect(transport.calls.map((c) => [c.noticeId, c.error ? 'failed' : 'ok'])).toEqual([
      [ids[0], 'failed'],
      [ids[1], 'ok'],
      [ids[2], 'failed'],
      [ids[3], 'ok'],
    ]);
    for (const id of [ids[0]!, ids[2]!]) {
      const failed = await row(id);
      expect(failed).toMatchObject({ deliveredVersion: 0, messageId: null, claimedUntil: null, lastError: 'Missing Access' });
      expect(failed.failedAt).toBeInstanceOf(Date);
    }
    for (const id of [ids[1]!, ids[3]!]) expect(await row(id)).toMatchObject({ deliveredVersion: 1, failedAt: null });
    expect(channels.inChannel(fine.channelId)).toHaveLength(2);
    expect(await settingsOf(gone.guildId)).toMatchObject({ lastDeliveryError: 'Missing Access', lastDeliveryErrorAt: expect.any(Date) });
    expect(await settingsOf(fine.guildId)).toMatchObject({ lastDeliveryError: null, lastDeliveryErrorAt: null });

    // Never retried, not even when the notice changes or its backoff would long have passed.
    transport.before = undefined;
    await confirm(ids[0]!);
    expect(await d.deliverDue()).toBe(0);
    expect(await dispatcher().deliverDue()).toBe(0);
    expect(transport.calls).toHaveLength(4);
  });

  it('clears the recorded error once a delivery to that server succeeds again', async () => {
    const guild = await newGuild();
    await addNotice(guild);
    transport.before = () => {
      throw new DeliveryError('Missing Permissions', 'permanent');
    };
    const d = dispatcher();
    await d.deliverDue();
    expect((await settingsOf(guild.guildId)).lastDeliveryError).toBe('Missing Permissions');

    // The admins fixed the permissions; the next notice gets through.
    transport.before = undefined;
    await addNotice(guild);
    await d.deliverDue();
    expect(await settingsOf(guild.guildId)).toMatchObject({ lastDeliveryError: null, lastDeliveryErrorAt: null });
  });

  it('stops editing a message someone deleted', async () => {
    const guild = await newGuild();
    const id = await addNotice(guild);
    const d = dispatcher();
    await d.deliverDue();
    const messageId = (await row(id)).messageId!;
    channels.delete(messageId);

    await confirm(id);
    expect(await d.deliverDue()).toBe(1);
    expect(transport.edits).toEqual([expect.objectContaining({ messageId, error: expect.any(DeliveryError) })]);
    const after = await row(id);
    expect(after).toMatchObject({ messageId, deliveredVersion: 2, claimedUntil: null, failedAt: null, lastError: 'Unknown Message' });

    // No retry, no re-post, and the server is not told its channel is broken.
    expect(await d.deliverDue()).toBe(0);
    expect(transport.posts).toHaveLength(1);
    expect(transport.edits).toHaveLength(1);
    expect(channels.inChannel(guild.channelId)).toHaveLength(0);
    expect((await settingsOf(guild.guildId)).lastDeliveryError).toBeNull();

    // A later change is not announced again in a new message either.
    await confirm(id, 870_005);
    await d.deliverDue();
    expect(await d.deliverDue()).toBe(0);
    expect(transport.posts).toHaveLength(1);
    expect(channels.inChannel(guild.channelId)).toHaveLength(0);
    expect(await row(id)).toMatchObject({ messageId, deliveredVersion: 3, failedAt: null });
  });

  it('delivers oldest first, across servers and batches', async () => {
    const a = await newGuild();
    const b = await newGuild();
    const ids: bigint[] = [];
    for (let i = 0; i < 7; i++) ids.push(await addNotice(i % 3 === 0 ? a : b));

    expect(await dispatcher({ batchSize: 2 }).deliverDue()).toBe(7);
    expect(transport.posts.map((c) => c.noticeId)).toEqual(ids);
  });

  it('delivers only its own server\'s notices when given one, and counts what that server still waits for', async () => {
    const shell = await newGuild();
    const bot = await newGuild();
    const mine = await addNotice(shell);
    const theirs = await addNotice(bot);
    expect(await countUndelivered(database.db, shell.guildId)).toBe(1);

    expect(await dispatcher({ guildId: shell.guildId }).deliverDue()).toBe(1);
    expect(transport.posts.map((c) => c.noticeId)).toEqual([mine]);
    expect(await countUndelivered(database.db, shell.guildId)).toBe(0);
    expect(await countUndelivered(database.db, bot.guildId)).toBe(1);
    expect((await row(theirs)).attempts).toBe(0);
  });

  it('leaves one server\'s notices alone when told to, delivering every other server\'s', async () => {
    const shell = await newGuild();
    const bot = await newGuild();
    const theirs = await addNotice(shell);
    const mine = await addNotice(bot);
    expect(await dispatcher({ exceptGuildId: shell.guildId }).deliverDue()).toBe(1);
    expect(transport.posts.map((c) => c.noticeId)).toEqual([mine]);
    expect((await row(theirs)).attempts).toBe(0);
  });

  it('never delivers a notice twice when two dispatchers share the database', async () => {
    // On Postgres each dispatcher gets a connection pool of its own, as two processes would.
    let second: DatabaseHandle | undefined;
    const otherDb = backend === 'postgres' ? (second = await openDatabase(database.url)).db : database.db;
    try {
      const targets = [await newGuild(), await newGuild(), await newGuild()];
      const ids: bigint[] = [];
      for (let i = 0; i < 30; i++) ids.push(await addNotice(targets[i % 3]!));
      const other = new RecordingTransport(channels);
      // Slow enough for the two to overlap.
      const slow = async () => sleep(Math.floor(Math.random() * 4));
      transport.before = slow;
      other.before = slow;
      const a = dispatcher({ batchSize: 3 });
      const b = createNoticeDispatcher({ db: otherDb, transport: other, logger, batchSize: 3, backoffMs: () => 0 });

      const [na, nb] = await Promise.all([a.deliverDue(), b.deliverDue(), a.deliverDue(), b.deliverDue()]);
      expect(na! + nb!).toBeGreaterThan(0);

      const posted = [...transport.posts, ...other.posts];
      expect(posted.map((c) => c.noticeId).sort((x, y) => (x < y ? -1 : 1))).toEqual(ids);
      expect(transport.edits).toHaveLength(0);
      expect(other.edits).toHaveLength(0);
      expect(channels.messages.size).toBe(30);
      for (const id of ids) expect(await row(id)).toMatchObject({ deliveredVersion: 1, attempts: 1, claimedUntil: null });
    } finally {
      await second?.close();
    }
  });

  it('retries a notice whose dispatcher died mid-delivery once its claim expires, and edits the message it posted', async () => {
    const guild = await newGuild();
    const id = await addNotice(guild);
    // The post reaches Discord, then the process dies before recording it.
    const crashed = new RecordingTransport(channels);
    crashed.after = () => new Promise<never>(() => {});
    void createNoticeDispatcher({ db: database.db, transport: crashed, logger, claimMs: 500 }).deliverDue();
    await expect.poll(() => crashed.calls.length).toBe(1);
    const claimed = await row(id);
    expect(claimed.claimedUntil).toBeInstanceOf(Date);
    expect(claimed.deliveredVersion).toBe(0);

    // Another dispatcher leaves it alone while the claim lasts...
    const d = dispatcher();
    expect(await d.deliverDue()).toBe(0);
    expect(transport.calls).toHaveLength(0);

    // ...and retries it once the claim has expired.
    await sleep(600);
    expect(await d.deliverDue()).toBe(1);
    expect(transport.posts).toHaveLength(0);
    const shown = channels.inChannel(guild.channelId);
    expect(shown).toHaveLength(1);
    expect(transport.finds).toEqual([{ noticeId: id, found: crashed.posts[0]!.messageId }]);
    expect(transport.edits.map((c) => c.messageId)).toEqual([shown[0]!.id]);
    expect(await row(id)).toMatchObject({ messageId: shown[0]!.id, deliveredVersion: 1, claimedUntil: null, attempts: 2 });
  });

  it('delivers what is pending as soon as it starts, and at once when poked', async () => {
    const guild = await newGuild();
    const pending = await addNotice(guild);
    const d = dispatcher({ pollMs: 60_000 });
    let next: bigint | undefined;
    d.start();
    try {
      await expect.poll(async () => (await row(pending)).deliveredVersion, { timeout: 5_000 }).toBe(1);
      // The next poll is a minute away: a poke does not wait for it.
      next = await addNotice(guild);
      d.poke();
      await expect.poll(async () => (await row(next!)).deliveredVersion, { timeout: 5_000 }).toBe(1);
    } finally {
      await d.stop();
    }
    expect(transport.posts.map((c) => c.noticeId)).toEqual([pending, next]);
  });

  it('stops after the notice in hand and leaves the rest pending and unclaimed', async () => {
    const guild = await newGuild();
    const ids: bigint[] = [];
    for (let i = 0; i < 4; i++) ids.push(await addNotice(guild));
    const inFlight = gate();
    const release = gate();
    transport.before = async () => {
      inFlight.open();
      await release.promise;
    };
    const d = dispatcher({ claimMs: 60_000 });
    d.start();
    await inFlight.promise;

    const stopped = d.stop();
    release.open();
    await stopped;

    expect(transport.calls).toHaveLength(1);
    expect(await row(ids[0]!)).toMatchObject({ deliveredVersion: 1, claimedUntil: null });
    for (const id of ids.slice(1)) expect(await row(id)).toMatchObject({ deliveredVersion: 0, claimedUntil: null, failedAt: null });

    // The next start (or another process) goes on at once, without waiting out a claim.
    transport.before = undefined;
    expect(await dispatcher({ claimMs: 60_000 }).deliverDue()).toBe(3);
    expect(transport.posts.map((c) => c.noticeId)).toEqual(ids);
  });
});
