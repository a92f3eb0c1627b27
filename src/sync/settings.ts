import { and, eq, isNotNull } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { retryTransient } from '../db/retry.js';
import { guildSettings } from '../db/schema.js';
import { UserError, value, words } from '../errors.js';
import type { Now } from '../wallet/service.js';

export interface SettingsDeps {
  db: Database;
  clock?: Now;
}

/** A server's notice settings as /config shows them; a server that never ran /config has the defaults. */
export interface GuildSettings {
  /** where notices go; null: this server gets none */
  channelId: string | null;
  /** the smallest absolute net amount worth a notice; 0n: any change */
  thresholdSats: bigint;
  lastDeliveryError: string | null;
  lastDeliveryErrorAt: Date | null;
}

const DEFAULTS: GuildSettings = { channelId: null, thresholdSats: 0n, lastDeliveryError: null, lastDeliveryErrorAt: null };

/**
 * Per-server notice settings: chosen by admins with /config, and the last permanent delivery failure,
 * recorded by the outbox dispatcher so that admins can see why notices stopped. Knows nothing of Discord.
 */
export function createSettingsService({ db, clock = () => new Date() }: SettingsDeps) {
  /** Insert the server's row with `changes`, or apply them to the row it has: nothing else changes. */
  async function upsert(guildId: string, changes: Partial<Omit<typeof guildSettings.$inferInsert, 'guildId'>>): Promise<void> {
    const values = { ...changes, updatedAt: clock() };
    await db
      .insert(guildSettings)
      .values({ guildId, ...values })
      .onConflictDoUpdate({ target: guildSettings.guildId, set: values });
  }

  return {
    async get(guildId: string): Promise<GuildSettings> {
      const [row] = await retryTransient(() => db.select().from(guildSettings).where(eq(guildSettings.guildId, guildId)), { what: 'reading settings' });
      if (!row) return { ...DEFAULTS };
      const { channelId, thresholdSats, lastDeliveryError, lastDeliveryErrorAt } = row;
      return { channelId, thresholdSats, lastDeliveryError, lastDeliveryErrorAt };
    },

    /** A new channel is a fresh start: the error recorded for the old one no longer applies. */
    async setChannel(guildId: string, channelId: string): Promise<void> {
      // An upsert is safe to repeat after a lost connection.
      await retryTransient(() => upsert(guildId, { channelId, lastDeliveryError: null, lastDeliveryErrorAt: null }), { what: 'setting the channel' });
    },

    async setThreshold(guildId: string, sats: bigint): Promise<void> {
      if (sats < 0n) throw new UserError('invalid_input', words`The threshold cannot be negative. Use ${value('0')} to announce any change.`);
      await retryTransient(() => upsert(guildId, { thresholdSats: sats }), { what: 'setting the threshold' });
    },

    /** A permanent delivery failure (channel gone, no permission): shown by /config show until cleared. */
    async recordDeliveryError(guildId: string, message: string, at: Date): Promise<void> {
      await upsert(guildId, { lastDeliveryError: message, lastDeliveryErrorAt: at });
    },

    /**
     * A delivery succeeded: whatever failed before is fixed. Called after every delivery, so it writes
     * only when there is an error to clear (a server without a row has none).
     */
    async clearDeliveryError(guildId: string): Promise<void> {
      await db
        .update(guildSettings)
        .set({ lastDeliveryError: null, lastDeliveryErrorAt: null, updatedAt: clock() })
        .where(and(eq(guildSettings.guildId, guildId), isNotNull(guildSettings.lastDeliveryError)));
    },
  };
}

export type SettingsService = ReturnType<typeof createSettingsService>;
