/**
 * The Electrum methods satbell uses, typed and checked: whatever a server answers is validated
 * before it is believed (an answer of the wrong shape is an ElectrumDataError), heights become
 * numbers and amounts stay bigint satoshis.
 */
import * as z from 'zod';
import { ElectrumDataError } from './errors.js';
import type { ElectrumClient } from './rpc.js';
import type { FetchRawTxs } from './transactions.js';

const HEX64 = /^[0-9a-f]{64}$/;
const hash = z.string().regex(HEX64, 'expected 64 lower-case hex');
const sats = z.bigint();
/** Electrum heights: > 0 in a block, 0 or -1 in the mempool */
const height = z
  .bigint()
  .min(-1n)
  .max(BigInt(Number.MAX_SAFE_INTEGER))
  .transform((n) => Number(n));

const statusSchema = hash.nullable();
const historySchema = z.array(z.looseObject({ tx_hash: hash, height, fee: sats.nonnegative().optional() }));
const balanceSchema = z.looseObject({ confirmed: sats, unconfirmed: sats });
const headerSchema = z.looseObject({ height: height.pipe(z.number().nonnegative()), hex: z.string().regex(/^[0-9a-f]{160}$/, 'expected an 80-byte header') });
const scriptHashNotification = z.tuple([hash, statusSchema]);

export interface ElectrumHistoryItem {
  txid: string;
  height: number;
  /** given for mempool entries */
  fee?: bigint;
}

export interface ElectrumTip {
  height: number;
  /** the 80-byte header, hex */
  header: string;
}

/** how many blockchain.transaction.get go in one batch: servers limit a response's size */
const RAW_TX_BATCH = 50;

export function createElectrumApi(client: ElectrumClient) {
  const call = async <S extends z.ZodType>(method: string, params: unknown[], schema: S): Promise<z.output<S>> => checked(method, await client.request(method, params), schema);

  return {
    /** subscribes and returns the current status (null for an empty history) */
    subscribeScriptHash: (scriptHash: string) => call('blockchain.scripthash.subscribe', [scriptHash], statusSchema),
    /**
     * Subscribes many in one batch: each one's status, or the error it got (a cap reached is one:
     * see isSubscriptionLimit). An answer of the wrong shape is an ElectrumDataError.
     */
    async subscribeScriptHashes(scriptHashes: readonly string[]): Promise<({ ok: true; status: string | null } | { ok: false; error: Error })[]> {
      const answers = await client.batch(scriptHashes.map((h) => ({ method: 'blockchain.scripthash.subscribe', params: [h] })));
      return answers.map((a) => (a.ok ? { ok: true as const, status: checked('blockchain.scripthash.subscribe', a.result, statusSchema) } : { ok: false as const, error: a.error }));
    },
    /** the 80-byte header of the main chain's block at `height`, hex */
    blockHeader: (height: number) => call('blockchain.block.header', [height], z.string().regex(/^[0-9a-f]{160}$/, 'expected an 80-byte header')),
    /** false when the server had no such subscription */
    unsubscribeScriptHash: (scriptHash: string) => call('blockchain.scripthash.unsubscribe', [scriptHash], z.boolean()),
    async getHistory(scriptHash: string): Promise<ElectrumHistoryItem[]> {
      const entries = await call('blockchain.scripthash.get_history', [scriptHash], historySchema);
      return entries.map((e) => ({ txid: e.tx_hash, height: e.height, ...(e.fee === undefined ? {} : { fee: e.fee }) }));
    },
    getBalance: (scriptHash: string) => call('blockchain.scripthash.get_balance', [scriptHash], balanceSchema),
    async subscribeHeaders(): Promise<ElectrumTip> {
      const tip = await call('blockchain.headers.subscribe', [], headerSchema);
      return { height: tip.height, header: tip.hex };
    },
    /** raw hex of each txid, in batches; a txid the server has no answer for is left out (transactions.ts refuses it) */
    fetchRawTxs: (async (txids) => {
      const found = new Map<string, unknown>();
      for (let i = 0; i < txids.length; i += RAW_TX_BATCH) {
        const chunk = txids.slice(i, i + RAW_TX_BATCH);
        const answers = await client.batch(chunk.map((txid) => ({ method: 'blockchain.transaction.get', params: [txid] })));
        answers.forEach((answer, j) => {
          if (answer.ok) found.set(chunk[j]!, answer.result);
        });
      }
      return found;
    }) satisfies FetchRawTxs,
  };
}

export type ElectrumApi = ReturnType<typeof createElectrumApi>;

/**
 * A server notification read: a script hash's new status, a new tip, or something else (which a
 * caller logs). Parameters of the wrong shape are an ElectrumDataError.
 */
export function readNotification(method: string, params: unknown): { kind: 'status'; scriptHash: string; status: string | null } | { kind: 'tip'; tip: ElectrumTip } | { kind: 'other'; method: string } {
  if (method === 'blockchain.scripthash.subscribe') {
    const [scriptHash, status] = checked(method, params, scriptHashNotification);
    return { kind: 'status', scriptHash, status };
  }
  if (method === 'blockchain.headers.subscribe') {
    const [tip] = checked(method, params, z.tuple([headerSchema]));
    return { kind: 'tip', tip: { height: tip.height, header: tip.hex } };
  }
  return { kind: 'other', method };
}

function checked<S extends z.ZodType>(method: string, value: unknown, schema: S): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
  throw new ElectrumDataError(`${method}: the server answered an unexpected shape (${issues})`, { cause: result.error });
}
