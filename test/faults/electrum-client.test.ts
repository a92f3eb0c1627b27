/**
 * The Electrum fake checked against the real Electrum wallet (Debian's `electrum`), where one is
 * installed: pointed at the fake on regtest, what the real client makes of the fake's answers
 * (an address's balance and history, a watch-only wallet's balance, its transactions' values and
 * fees, and their merkle proofs, which it verifies) must be what satbell's own Electrum source and
 * the Esplora fake say of the same chain. The fakes are only worth testing against if a real
 * client believes them.
 *
 * In the fault suite, not in test/e2e: the wallet's daemon is a Python process of its own, and its
 * CPU kept `npm test` past 3 minutes on two cores.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { bech32, bech32m, createBase58check } from '@scure/base';
import { sha256 } from '@noble/hashes/sha2.js';
import { HDKey } from '@scure/bip32';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isValidAddress } from '../../src/chain/address.js';
import { deriveRange, parseWallet } from '../../src/chain/descriptor/index.js';
import { createElectrumApi, type ElectrumApi } from '../../src/chain/electrum/api.js';
import { readElectrumHistory } from '../../src/chain/electrum/history.js';
import { ElectrumClient } from '../../src/chain/electrum/rpc.js';
import { addressScriptHash } from '../../src/chain/electrum/scripthash.js';
import { createMemoryTxCache } from '../../src/chain/electrum/transactions.js';
import { createEsploraProvider } from '../../src/chain/providers/esplora.js';
import type { AddressHistory } from '../../src/chain/provider.js';
import { FakeChain, startElectrumFake, startEsploraFake, type ElectrumFake, type EsploraFake } from '../fakes/chain/index.js';

const run = promisify(execFile);
const onPath = (command: string) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
const installed = onPath('electrum');
const SKIPPED = 'skipped: no `electrum` on PATH (`apt-get install electrum` to run it)';
const title = installed ? 'the real Electrum wallet, pointed at the Electrum fake on regtest' : `the real Electrum wallet (${SKIPPED})`;
// A skipped test's title shows only in a verbose report: say it where every reporter shows it.
if (!installed) console.warn(`test/e2e/electrum-client.test.ts: the fake is not checked against the real Electrum wallet: ${SKIPPED}`);

/** how long the real client may take to connect, sync headers and verify, on a loaded machine */
const SYNC = { timeout: 20_000, interval: 250 };
/** the wallet test waits on two syncs in turn, each up to SYNC */
const WALLET_TIMEOUT = 60_000;

/** regtest addresses of each kind, made from a seed */
const seedBytes = (seed: string, length: number) => sha256(new TextEncoder().encode(`satbell-conform-${seed}`)).slice(0, length);
const base58check = createBase58check(sha256);
const regtest = {
  p2pkh: (seed: string) => base58check.encode(Uint8Array.of(0x6f, ...seedBytes(seed, 20))),
  p2sh: (seed: string) => base58check.encode(Uint8Array.of(0xc4, ...seedBytes(seed, 20))),
  p2wpkh: (seed: string) => bech32.encode('bcrt', [0, ...bech32.toWords(seedBytes(seed, 20))]),
  p2wsh: (seed: string) => bech32.encode('bcrt', [0, ...bech32.toWords(seedBytes(seed, 32))]),
  p2tr: (seed: string) => bech32m.encode('bcrt', [1, ...bech32m.toWords(seedBytes(seed, 32))]),
};
const faucet = regtest.p2wpkh('faucet');
const alice = regtest.p2wpkh('alice');
const bob = regtest.p2pkh('bob');
const carol = regtest.p2sh('carol');
const dave = regtest.p2wsh('dave');
const erin = regtest.p2tr('erin');
/** kind → address, for every address the wallet watches */
const kinds: [string, string][] = [['P2WPKH', alice], ['P2PKH', bob], ['P2SH', carol], ['P2WSH', dave], ['P2TR', erin]];
const watched = kinds.map(([, address]) => address);

/** BIP-84's account key, and its SLIP-132 version bytes on the test networks (regtest shares them). */
const ZPUB = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
const TEST_VERSIONS = { tpub: 0x043587cf, upub: 0x044a5262, vpub: 0x045f1cf6 } as const;
/** The same key spelt for the test networks, its prefix naming another script type. */
function asTestKey(prefix: keyof typeof TEST_VERSIONS): string {
  const key = HDKey.fromExtendedKey(ZPUB, { public: 0x04b24746, private: 0x04b2430c });
  const { depth, index, parentFingerprint, chainCode, publicKey } = key;
  return new HDKey({ versions: { public: TEST_VERSIONS[prefix], private: 0 }, depth, index, parentFingerprint, chainCode: chainCode!, publicKey: publicKey! }).publicExtendedKey;
}

/** "-0.00031" (BTC, as the Electrum CLI prints amounts) in satoshis */
function sats(btc: string): bigint {
  const match = /^(-)?(\d+)\.?(\d{0,8})$/.exec(btc);
  if (!match) throw new Error(`not an amount in BTC: ${btc}`);
  const value = BigInt(match[2]!) * 100_000_000n + BigInt(match[3]!.padEnd(8, '0'));
  return match[1] ? -value : value;
}

/**
 * A chain with every kind of address and every kind of history entry: confirmed txs in blocks of
 * one and of several txs, a mempool tx spending a confirmed coin (height 0) and one spending a
 * mempool coin (height -1). Coins come from a faucet nobody watches, never from a coinbase, so that
 * the wallet has no immature coins to set apart.
 */
function buildChain(): FakeChain {
  const chain = new FakeChain({ regtest: true });
  chain.addTx({ inputs: [{ address: faucet, value: 200_000 }], outputs: [{ address: alice, value: 50_000 }, { address: faucet, value: 149_000 }] });
  chain.mine();
  chain.addTx({ inputs: [{ address: alice, value: 50_000 }], outputs: [{ address: bob, value: 30_000 }, { address: alice, value: 19_000 }] });
  chain.addTx({ inputs: [{ address: faucet, value: 149_000 }], outputs: [{ address: carol, value: 7_000 }, { address: dave, value: 8_000 }, { address: faucet, value: 133_500 }] });
  chain.mine();
  chain.addTx({ inputs: [{ address: carol, value: 7_000 }], outputs: [{ address: alice, value: 2_500 }, { address: carol, value: 4_000 }] });
  chain.mine();
  chain.addTx({ inputs: [{ address: bob, value: 30_000 }], outputs: [{ address: erin, value: 12_000 }, { address: bob, value: 17_500 }] });
  chain.addTx({ inputs: [{ address: erin, value: 12_000 }], outputs: [{ address: alice, value: 2_000 }, { address: erin, value: 9_800 }] });
  return chain;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * `stop` only asks: the daemon exits a moment later, and would write into its directory as that
 * is removed. Wait for it (ours, by its pid), and kill it if it was not stopped or does not go.
 */
async function endDaemon(pid: number, stopped: boolean): Promise<void> {
  if (stopped) await vi.waitFor(() => expect(alive(pid)).toBe(false), { timeout: 10_000, interval: 100 }).catch(() => undefined);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

describe.skipIf(!installed)(title, () => {
  let chain: FakeChain;
  let electrumFake: ElectrumFake;
  let esplora: EsploraFake;
  let client: ElectrumClient;
  let api: ElectrumApi;
  let dir: string;
  let daemonPid: number | undefined;

  /** the Electrum CLI on regtest, its data in `dir`; its JSON output parsed */
  const electrum = async (...args: string[]): Promise<unknown> => {
    const { stdout } = await run('electrum', ['--regtest', '--dir', dir, ...args], { env: { ...process.env, HOME: dir }, timeout: 20_000 });
    return JSON.parse(stdout);
  };
  const wallet = () => join(dir, 'watch');

  beforeAll(async () => {
    chain = buildChain();
    electrumFake = await startElectrumFake({ chain });
    esplora = await startEsploraFake({ chain, isValid: (a) => isValidAddress(a, 'regtest') });
    client = await ElectrumClient.connect({ host: electrumFake.host, port: electrumFake.port, tls: false });
    api = createElectrumApi(client);
    dir = await mkdtemp(join(tmpdir(), 'satbell-electrum-'));
    const started = await run('electrum', ['--regtest', '--dir', dir, 'daemon', '-d', '--oneserver', '--server', `${electrumFake.host}:${electrumFake.port}:t`], { env: { ...process.env, HOME: dir }, timeout: 20_000 });
    // "starting daemon (PID n)", on stderr
    daemonPid = Number(/PID (\d+)/.exec(`${started.stdout}${started.stderr}`)?.[1]) || undefined;
    expect(daemonPid).toBeDefined();
    await vi.waitFor(async () => {
      const info = (await electrum('getinfo')) as { connected: boolean; blockchain_height: number };
      expect(info).toMatchObject({ connected: true, blockchain_height: chain.height });
    }, SYNC);
  });

  afterAll(async () => {
    // The daemon outlives this process unless stopped: stop it, and kill it (ours) if it will not go.
    if (dir !== undefined) {
      const stopped = await electrum('stop').then(
        () => true,
        () => false,
      );
      if (daemonPid !== undefined) await endDaemon(daemonPid, stopped);
      await rm(dir, { recursive: true, force: true });
    }
    client?.close();
    await electrumFake?.close();
    await esplora?.close();
  });

  /** satbell's own read of `address` from the fake's Electrum answers */
  const satbellRead = async (address: string): Promise<AddressHistory> => {
    const status = await api.subscribeScriptHash(addressScriptHash(address, 'regtest'));
    const deps = { api, network: 'regtest' as const, cache: createMemoryTxCache(), blockTimes: new Map<number, Date>(), known: async () => new Map() };
    return (await readElectrumHistory(deps, address, status)).history;
  };
  /** txid → block height, null in the mempool */
  const heights = (history: AddressHistory) => new Map(history.txs.map((t) => [t.txid, t.blockHeight]));

  it.each(kinds)('sees a %s address (%s) as satbell and the Esplora fake do: balance, txids and heights', async (_kind, address) => {
    const [balance, listed, ours, theirs] = await Promise.all([
      electrum('getaddressbalance', address) as Promise<{ confirmed: string; unconfirmed: string }>,
      electrum('getaddresshistory', address) as Promise<{ tx_hash: string; height: number }[]>,
      satbellRead(address),
      createEsploraProvider({ baseUrl: esplora.url }).getHistory(address),
    ]);
    expect(listed.length).toBeGreaterThan(0);
    const total = sats(balance.confirmed) + sats(balance.unconfirmed);
    expect(total).toBe(ours.balance.balance);
    expect(total).toBe(theirs.balance.balance);
    const confirmedNet = ours.txs.filter((t) => t.blockHeight !== null).reduce((n, t) => n + t.net, 0n);
    expect(sats(balance.confirmed)).toBe(confirmedNet);

    const real = new Map(listed.map((e) => [e.tx_hash, e.height > 0 ? e.height : null]));
    expect(real).toEqual(heights(ours));
    expect(real).toEqual(heights(theirs));
  });

  it.each(['vpub', 'upub', 'tpub'] as const)('derives the receive and change addresses of a %s as the Electrum wallet does', async (prefix) => {
    const key = asTestKey(prefix);
    const keyWallet = join(dir, `key-${prefix}`);
    await electrum('restore', key, '-w', keyWallet);
    await electrum('load_wallet', '-w', keyWallet);
    const receiving = (await electrum('listaddresses', '--receiving', '-w', keyWallet)) as string[];
    const change = (await electrum('listaddresses', '--change', '-w', keyWallet)) as string[];
    expect(receiving.length).toBeGreaterThanOrEqual(20);
    expect(change.length).toBeGreaterThan(0);
    const ours = parseWallet(key, 'regtest');
    expect(deriveRange(ours, 0, 0, receiving.length)).toEqual(receiving);
    expect(deriveRange(ours, 1, 0, change.length)).toEqual(change);
  });

  it('keeps a watch-only wallet of those addresses whose balance, tx values and fees are satbell’s, every confirmed tx verified by its merkle proof', async () => {
    await electrum('restore', watched.join(' '), '-w', wallet());
    await electrum('load_wallet', '-w', wallet());
    await expect.poll(() => electrum('is_synchronized', '-w', wallet()), SYNC).toBe(true);

    const reads = await Promise.all(watched.map(satbellRead));
    const byTxid = new Map<string, { height: number | null; net: bigint; fee: bigint }>();
    for (const tx of reads.flatMap((r) => r.txs)) {
      const seen = byTxid.get(tx.txid);
      byTxid.set(tx.txid, { height: tx.blockHeight, fee: tx.fee, net: (seen?.net ?? 0n) + tx.net });
    }
    const confirmed = [...byTxid.values()].filter((t) => t.height !== null);

    type Row = { txid: string; height: number; confirmations: number; bc_value: string; fee_sat: number | null };
    const history = async () => ((await electrum('onchain_history', '-w', wallet())) as { transactions: Row[] }).transactions;
    // The wallet verifies each confirmed tx's merkle proof after syncing: until then it shows no confirmations.
    await expect.poll(async () => (await history()).filter((r) => r.confirmations > 0).length, SYNC).toBe(confirmed.length);

    const rows = await history();
    expect(new Map(rows.map((r) => [r.txid, { height: r.height > 0 ? r.height : null, net: sats(r.bc_value) }]))).toEqual(
      new Map([...byTxid].map(([txid, t]) => [txid, { height: t.height, net: t.net }])),
    );
    for (const row of rows) {
      expect(row.confirmations).toBe(row.height > 0 ? chain.height - row.height + 1 : 0);
      // the wallet knows a fee only when every input is its own; where it does, it is satbell's
      if (row.fee_sat !== null) expect(BigInt(row.fee_sat)).toBe(byTxid.get(row.txid)!.fee);
    }
    expect(rows.filter((r) => r.fee_sat !== null).length).toBeGreaterThan(0);

    const balance = (await electrum('getbalance', '-w', wallet())) as { confirmed: string; unconfirmed?: string; unmatured?: string };
    const total = reads.reduce((n, r) => n + r.balance.balance, 0n);
    expect(balance.unmatured).toBeUndefined();
    expect(sats(balance.confirmed) + sats(balance.unconfirmed ?? '0')).toBe(total);
  }, WALLET_TIMEOUT);
});
