import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ElectrumClient } from '../../src/chain/electrum/rpc.js';
import { addressScriptHash, outputScript } from '../../src/chain/electrum/scripthash.js';
import { historyStatus } from '../../src/chain/electrum/status.js';
import { createMemoryTxCache, decodeTransaction, historyEffects } from '../../src/chain/electrum/transactions.js';
import { createBlockchainInfoProvider } from '../../src/chain/providers/blockchain-info.js';
import { FakeChain, startBlockchainInfoFake, startElectrumFake, type BlockchainInfoFake, type ElectrumFake } from '../fakes/chain/index.js';
import { testAddress } from '../support/addresses.js';
import { IndexedFakeChain } from '../../bench/chain.js';

let chain: FakeChain;
let fake: ElectrumFake;
let client: ElectrumClient;
const sockets: Socket[] = [];

beforeEach(async () => {
  chain = new FakeChain();
  fake = await startElectrumFake({ chain });
  client = await ElectrumClient.connect({ host: fake.host, port: fake.port, tls: false });
});

afterEach(async () => {
  client.close();
  for (const socket of sockets.splice(0)) socket.destroy();
  await fake.close();
});

const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((name) => testAddress(`electrum-fake-${name}`)) as [string, string, string];
const sh = (address: string) => addressScriptHash(address, 'mainnet');

/** a raw socket to the fake, and the lines it receives */
async function rawConnection() {
  const socket = connect(fake.port, fake.host);
  sockets.push(socket);
  await new Promise((resolve) => socket.once('connect', resolve));
  const lines: unknown[] = [];
  let buffered = '';
  const waiters: (() => void)[] = [];
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      lines.push(JSON.parse(buffered.slice(0, nl)));
      buffered = buffered.slice(nl + 1);
    }
    waiters.splice(0).forEach((w) => w());
  });
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const send = (message: unknown) => socket.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
  const next = async () => {
    while (lines.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
    return lines.shift();
  };
  return { send, next, ended };
}

type History = { tx_hash: string; height: bigint; fee?: bigint }[];
const history = async (address: string) => (await client.request('blockchain.scripthash.get_history', [sh(address)])) as History;
const asEntries = (h: History) => h.map((e) => ({ txid: e.tx_hash, height: Number(e.height) }));

describe('the Electrum fake', () => {
  it('requires server.version first: it answers an error and hangs up', async () => {
    const raw = await rawConnection();
    raw.send({ jsonrpc: '2.0', id: 7, method: 'blockchain.scripthash.subscribe', params: [sh(alice)] });
    expect(await raw.next()).toEqual({ jsonrpc: '2.0', id: 7, error: { code: -32600, message: 'server.version must be the first message' } });
    await raw.ended;
  });

  it('accepts server.version once, answers batches as an array, and errors per call', async () => {
    const raw = await rawConnection();
    raw.send({ jsonrpc: '2.0', id: 1, method: 'server.version', params: ['test', '1.4'] });
    expect(await raw.next()).toEqual({ jsonrpc: '2.0', id: 1, result: ['satbell fake electrum 1.0', '1.4'] });
    raw.send([
      { jsonrpc: '2.0', id: 2, method: 'server.version', params: ['test', '1.4'] },
      { jsonrpc: '2.0', id: 3, method: 'server.ping', params: [] },
      { jsonrpc: '2.0', id: 4, method: 'blockchain.scripthash.get_balance', params: 'not a list' },
      { jsonrpc: '2.0', id: 5, method: 'mempool.no_such_thing', params: [] },
    ]);
    expect(await raw.next()).toEqual([
      { jsonrpc: '2.0', id: 2, error: { code: 1, message: 'server.version already sent' } },
      { jsonrpc: '2.0', id: 3, result: null },
      { jsonrpc: '2.0', id: 4, error: { code: -32602, message: 'params must be an array' } },
      { jsonrpc: '2.0', id: 5, error: { code: -32601, message: 'unknown method "mempool.no_such_thing"' } },
    ]);
    raw.send('{"id": 6, "method"');
    expect(await raw.next()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } });
  });

  it('answers what the real Electrum wallet (4.3) asks for on connecting, or it hangs up', async () => {
    const methods: [string, unknown[]][] = [
      ['blockchain.estimatefee', [2]],
      ['blockchain.relayfee', []],
      ['mempool.get_fee_histogram', []],
      ['server.banner', []],
      ['server.donation_address', []],
      ['server.peers.subscribe', []],
    ];
    const answers = await client.batch(methods.map(([method, params]) => ({ method, params })));
    expect(answers.every((a) => a.ok)).toBe(true);
  });

  it('serves block headers of 80 bytes that hash to the block and link to the one before', async () => {
    const before = chain.tip;
    const block = chain.mine();
    const tip = (await client.request('blockchain.headers.subscribe')) as { height: bigint; hex: string };
    expect(tip.height).toBe(BigInt(block.height));
    const header = Buffer.from(tip.hex, 'hex');
    expect(header).toHaveLength(80);
    const sha256d = (b: Buffer) => createHash('sha256').update(createHash('sha256').update(b).digest()).digest();
    expect(Buffer.from(sha256d(header)).reverse().toString('hex')).toBe(block.hash);
    expect(Buffer.from(header.subarray(4, 36)).reverse().toString('hex')).toBe(before.hash);
    expect(await client.request('blockchain.block.header', [before.height])).toBe(before.header);
  });

  it('tells the same story as the Blockchain.com fake: the same txs, nets and fees, from raw transactions', async () => {
    const api: BlockchainInfoFake = await startBlockchainInfoFake({ chain });
    try {
      chain.fund(alice, 500_000n);
      chain.fund(carol, 60_000n);
      chain.mine();
      // change back to alice, a payment to bob, an OP_RETURN
      const spend = chain.addTx({ inputs: [{ address: alice, value: 500_000n }], outputs: [{ address: bob, value: 120_000n }, { address: alice, value: 378_000n }, { value: 0n }] });
      // bob spends an unconfirmed coin (height -1), and carol pays from a coin the chain never showed
      chain.addTx({ inputs: [{ address: bob, value: 120_000n }], outputs: [{ address: carol, value: 119_000n }] });
      chain.addTx({ inputs: [{ address: carol, value: 50_000n }, { address: alice, value: 378_000n }], outputs: [{ address: bob, value: 427_000n }] });
      chain.mine();
      chain.addTx({ inputs: [{ address: carol, value: 119_000n }], outputs: [{ address: alice, value: 118_500n }], rbf: true });
      // a child of a mempool tx: height -1
      chain.addTx({ inputs: [{ address: alice, value: 118_500n }], outputs: [{ address: bob, value: 100_000n }, { address: alice, value: 18_000n }] });
      expect(spend.inputs[0]!.coin.txid).toBe(chain.txsOf(new Set([alice])).at(-1)!.txid);

      const provider = createBlockchainInfoProvider({ baseUrl: api.url });
      const cache = createMemoryTxCache();
      const fetchRaw = async (txids: readonly string[]) => {
        const answers = await client.batch(txids.map((txid) => ({ method: 'blockchain.transaction.get', params: [txid] })));
        return new Map(txids.map((txid, i) => [txid, answers[i]!.ok ? (answers[i] as { result: unknown }).result : undefined]));
      };
      for (const address of [alice, bob, carol]) {
        const http = await provider.getHistory(address);
        const electrum = await history(address);
        const script = bytesToHex(outputScript(address, 'mainnet'));
        const effects = await historyEffects(asEntries(electrum), script, { fetchRaw, cache });
        const fromHttp = new Map(http.txs.map((t) => [t.txid, { net: t.net, fee: t.fee, height: t.blockHeight }]));
        const heightOf = new Map(electrum.map((e) => [e.tx_hash, e.height > 0n ? Number(e.height) : null]));
        expect(new Map([...effects].map(([txid, e]) => [txid, { ...e, height: heightOf.get(txid) }]))).toEqual(fromHttp);
        expect(fromHttp.size).toBeGreaterThan(1);
        const balance = (await client.request('blockchain.scripthash.get_balance', [sh(address)])) as { confirmed: bigint; unconfirmed: bigint };
        expect(balance.confirmed + balance.unconfirmed).toBe(http.balance.balance);
        for (const entry of electrum.filter((e) => e.height <= 0n)) expect(entry.fee).toBe(fromHttp.get(entry.tx_hash)!.fee);
      }
      expect((await history(alice)).at(-1)!.height).toBe(-1n);
    } finally {
      await api.close();
    }
  });

  it('pushes a status for a new tx, a block, a replacement and an eviction, and the tip for each block', async () => {
    const notes: unknown[] = [];
    client.on('notification', (method, params) => notes.push([method, params]));
    await client.request('blockchain.scripthash.subscribe', [sh(alice)]);
    await client.request('blockchain.headers.subscribe');
    const settle = () => client.request('server.ping');
    const statusNow = async () => historyStatus(asEntries(await history(alice)));

    chain.fund(bob, 10_000n);
    chain.mine();
    await settle();
    notes.length = 0;
    const original = chain.addTx({ inputs: [{ address: bob, value: 10_000n }], outputs: [{ address: alice, value: 9_000n }], rbf: true });
    await settle();
    expect(notes).toEqual([['blockchain.scripthash.subscribe', [sh(alice), await statusNow()]]]);

    chain.removeTx(original.txid);
    await settle();
    const replacement = chain.addTx({ inputs: [{ address: bob, value: 10_000n }], outputs: [{ address: alice, value: 8_000n }] });
    expect(replacement.inputs[0]!.coin).toEqual(original.inputs[0]!.coin);
    await settle();
    expect(notes.slice(1)).toEqual([
      ['blockchain.scripthash.subscribe', [sh(alice), null]],
      ['blockchain.scripthash.subscribe', [sh(alice), await statusNow()]],
    ]);

    const block = chain.mine();
    await settle();
    expect(notes.slice(3)).toEqual([
      ['blockchain.headers.subscribe', [{ height: BigInt(block.height), hex: block.header }]],
      ['blockchain.scripthash.subscribe', [sh(alice), await statusNow()]],
    ]);

    const evicted = chain.fund(alice, 1n);
    await settle();
    chain.removeTx(evicted.txid);
    await settle();
    expect(notes.slice(5).map((n) => (n as [string, [string, string]])[1][1])).toEqual([expect.any(String), await statusNow()]);
  });

  it('pushes over the bench’s indexed chain too, once its index has the new tx', async () => {
    const indexed = await startElectrumFake({ chain: new IndexedFakeChain() });
    const other = await ElectrumClient.connect({ host: indexed.host, port: indexed.port, tls: false });
    try {
      await other.request('blockchain.scripthash.subscribe', [sh(alice)]);
      const heard = new Promise((resolve) => other.once('notification', (_m, params) => resolve(params)));
      const payment = indexed.chain.fund(alice, 3_000n);
      expect(await heard).toEqual([sh(alice), historyStatus([{ txid: payment.txid, height: 0 }])]);
    } finally {
      other.close();
      await indexed.close();
    }
  });

  it('pushes the new status of a mempool child when its parent confirms (height -1 becomes 0)', async () => {
    chain.fund(bob, 5_000n);
    chain.addTx({ inputs: [{ address: bob, value: 5_000n }], outputs: [{ address: alice, value: 4_000n }] });
    await client.request('blockchain.scripthash.subscribe', [sh(alice)]);
    expect((await history(alice))[0]!.height).toBe(-1n);
    // A block that confirms only the parent: the child waits in a later one.
    const child = chain.mempool().at(-1)!;
    chain.removeTx(child.txid);
    const heard = new Promise((resolve) => client.once('notification', (_m, params) => resolve(params)));
    chain.mine();
    chain.addTx({ inputs: [{ address: bob, value: 5_000n }], outputs: [{ address: alice, value: 4_000n }] });
    await heard;
    expect((await history(alice))[0]!.height).toBe(0n);
  });

  it('caps subscriptions over all connections, freed by unsubscribe and by disconnecting', async () => {
    fake.maxSubscriptions = 2;
    await client.request('blockchain.scripthash.subscribe', [sh(alice)]);
    const other = await ElectrumClient.connect({ host: fake.host, port: fake.port, tls: false });
    try {
      await other.request('blockchain.scripthash.subscribe', [sh(bob)]);
      await expect(other.request('blockchain.scripthash.subscribe', [sh(carol)])).rejects.toMatchObject({ code: 4, serverMessage: 'Subscription limit reached' });
      // subscribing again to one already held is no new subscription
      expect(await client.request('blockchain.scripthash.subscribe', [sh(alice)])).toBeNull();
      expect(await other.request('blockchain.scripthash.unsubscribe', [sh(bob)])).toBe(true);
      expect(await other.request('blockchain.scripthash.unsubscribe', [sh(bob)])).toBe(false);
      await other.request('blockchain.scripthash.subscribe', [sh(carol)]);
      expect(fake.subscriptions()).toBe(2);
    } finally {
      other.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fake.subscriptions()).toBe(1);
  });

  it('serves raw txs that hash to their txids, minted parents too, and an explicit txid as a lie', async () => {
    const payment = chain.addTx({ inputs: [{ address: carol, value: 7_000n }], outputs: [{ address: alice, value: 6_500n }] });
    const raw = (await client.request('blockchain.transaction.get', [payment.txid])) as string;
    expect(decodeTransaction(payment.txid, raw).outputs).toEqual([{ script: bytesToHex(outputScript(alice, 'mainnet')), value: 6_500n }]);
    const parent = payment.inputs[0]!.coin.txid;
    const parentRaw = (await client.request('blockchain.transaction.get', [parent])) as string;
    expect(decodeTransaction(parent, parentRaw).outputs).toEqual([{ script: bytesToHex(outputScript(carol, 'mainnet')), value: 7_000n }]);
    expect(await history(carol)).toEqual([{ tx_hash: payment.txid, height: 0n, fee: 500n }]);

    const told = chain.addTx({ txid: 'ab'.repeat(32), outputs: [{ address: bob, value: 1n }] });
    const toldRaw = await client.request('blockchain.transaction.get', [told.txid]);
    expect(() => decodeTransaction(told.txid, toldRaw)).toThrow(/instead/);
    await expect(client.request('blockchain.transaction.get', [told.txid, true])).rejects.toMatchObject({ code: 1 });
  });

  it('can lie in a history: its status then contradicts the one subscribe gave', async () => {
    chain.fund(alice, 1_000n);
    const status = await client.request('blockchain.scripthash.subscribe', [sh(alice)]);
    fake.misbehave.history = (_sh, truth) => [...truth, { tx_hash: 'cd'.repeat(32), height: 0 }];
    const lying = await history(alice);
    expect(lying).toHaveLength(2);
    expect(historyStatus(asEntries(lying))).not.toBe(status);
    fake.misbehave = {};
    expect(historyStatus(asEntries(await history(alice)))).toBe(status);
  });
});
