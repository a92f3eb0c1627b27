import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guildSettings } from '../../src/db/schema.js';
import { UserError } from '../../src/errors.js';
import { createSettingsService, type SettingsService } from '../../src/sync/settings.js';
import { createTestDatabase, testBackends } from '../support/database.js';

describe.each(testBackends())('guild settings on %s', (backend) => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let settings: SettingsService;
  let now: Date;
  // One database for the file: each test works in servers of its own.
  let guilds = 0;
  const newGuild = () => String(300000000000000000n + BigInt(++guilds));

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.close();
  });
  beforeEach(() => {
    now = new Date('2026-11-24T12:00:00Z');
    settings = createSettingsService({ db: database.db, clock: () => now });
  });

  const row = async (guildId: string) => (await database.db.select().from(guildSettings).where(eq(guildSettings.guildId, guildId)))[0];

  it('gives a server that never ran /config no channel, any change, no error, and writes nothing', async () => {
    const guild = newGuild();
    expect(await settings.get(guild)).toEqual({ channelId: null, thresholdSats: 0n, lastDeliveryError: null, lastDeliveryErrorAt: null });
    expect(await row(guild)).toBeUndefined();
  });

  it('sets the channel and the threshold independently, each keeping the other', async () => {
    const guild = newGuild();
    await settings.setThreshold(guild, 50_000n);
    await settings.setChannel(guild, '400000000000000001');
    expect(await settings.get(guild)).toMatchObject({ channelId: '400000000000000001', thresholdSats: 50_000n });

    await settings.setChannel(guild, '400000000000000002');
    await settings.setThreshold(guild, 0n);
    expect(await settings.get(guild)).toMatchObject({ channelId: '400000000000000002', thresholdSats: 0n });
  });

  it('keeps a threshold above 2^53 satoshis exact', async () => {
    const guild = newGuild();
    const sats = 2_100_000_000_000_000n - 1n;
    await settings.setThreshold(guild, sats);
    expect((await settings.get(guild)).thresholdSats).toBe(sats);
  });

  it('refuses a negative threshold and changes nothing', async () => {
    const guild = newGuild();
    await settings.setThreshold(guild, 1_000n);
    const err = await settings.setThreshold(guild, -1n).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('invalid_input');
    expect((await settings.get(guild)).thresholdSats).toBe(1_000n);
  });

  it('records a delivery error with its time, and a delivery that works clears it', async () => {
    const guild = newGuild();
    await settings.setChannel(guild, '400000000000000003');
    const at = new Date('2026-11-24T11:59:00Z');
    await settings.recordDeliveryError(guild, 'Missing Permissions', at);
    expect(await settings.get(guild)).toEqual({
      channelId: '400000000000000003',
      thresholdSats: 0n,
      lastDeliveryError: 'Missing Permissions',
      lastDeliveryErrorAt: at,
    });

    await settings.clearDeliveryError(guild);
    expect(await settings.get(guild)).toMatchObject({ channelId: '400000000000000003', lastDeliveryError: null, lastDeliveryErrorAt: null });
  });

  it('clears the last delivery error when a new channel is set', async () => {
    const guild = newGuild();
    await settings.setChannel(guild, '400000000000000004');
    await settings.recordDeliveryError(guild, 'Unknown Channel', now);
    await settings.setChannel(guild, '400000000000000005');
    expect(await settings.get(guild)).toMatchObject({ channelId: '400000000000000005', lastDeliveryError: null, lastDeliveryErrorAt: null });
  });

  it('records a delivery error for a server without a row, and clearing one that has none writes nothing', async () => {
    const guild = newGuild();
    await settings.clearDeliveryError(guild);
    expect(await row(guild)).toBeUndefined();

    await settings.recordDeliveryError(guild, 'Missing Access', now);
    expect(await settings.get(guild)).toMatchObject({ channelId: null, lastDeliveryError: 'Missing Access' });

    await settings.clearDeliveryError(guild);
    const cleared = await row(guild);
    now = new Date('2026-11-24T13:00:00Z');
    await settings.clearDeliveryError(guild);
    expect((await row(guild))?.updatedAt).toEqual(cleared?.updatedAt);
  });

  it('stamps every change with the clock', async () => {
    const guild = newGuild();
    await settings.setChannel(guild, '400000000000000006');
    expect((await row(guild))?.updatedAt).toEqual(now);
    now = new Date('2026-11-25T08:00:00Z');
    await settings.setThreshold(guild, 1n);
    expect((await row(guild))?.updatedAt).toEqual(now);
  });

  it('keeps each server’s settings to itself', async () => {
    const [a, b] = [newGuild(), newGuild()];
    await settings.setChannel(a, '400000000000000007');
    await settings.setThreshold(a, 10n);
    await settings.recordDeliveryError(a, 'Missing Permissions', now);
    expect(await settings.get(b)).toEqual({ channelId: null, thresholdSats: 0n, lastDeliveryError: null, lastDeliveryErrorAt: null });
  });
});
