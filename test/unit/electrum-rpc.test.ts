import { bytesToHex } from '@noble/hashes/utils.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ElectrumConnectionError, ElectrumRpcError, ElectrumTimeoutError, isSubscriptionLimit } from '../../src/chain/electrum/errors.js';
import { ElectrumClient, parseElectrumServer, type ElectrumClientOptions } from '../../src/chain/electrum/rpc.js';
import { addressScriptHash, outputScript } from '../../src/chain/electrum/scripthash.js';
import { historyStatus } from '../../src/chain/electrum/status.js';
import { FakeChain, startElectrumFake, type ElectrumFake } from '../fakes/chain/index.js';
import { fakeTlsCert, fakeTlsKey } from '../fakes/chain/electrum-tls.js';
import { testAddress } from '../support/addresses.js';

let fake: ElectrumFake;
const clients: ElectrumClient[] = [];

beforeEach(async () => {
  fake = await startElectrumFake({ chain: new FakeChain() });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await fake.close();
});

async function connect(options: Partial<ElectrumClientOptions> = {}): Promise<ElectrumClient> {
  const client = await ElectrumClient.connect({ host: fake.host, port: fake.port, tls: false, ...options });
  clients.push(client);
  return client;
}

/** the next 'close' of `client`, with its reason */
const closed = (client: ElectrumClient) => new Promise<ElectrumConnectionError>((resolve) => client.once('close', resolve));
const nextNotification = (client: ElectrumClient) => new Promise<[string, unknown]>((resolve) => client.once('notification', (method, params) => resolve([method, params])));

const alice = testAddress('electrum-alice');
const bob = testAddress('electrum-bob');
const aliceHash = addressScriptHash(alice, 'mainnet');

describe('the Electrum client', () => {
  it('sends server.version first and agrees on the highest protocol both speak', async () => {
    const client = await connect();
    expect(client.serverVersion).toEqual({ software: 'satbell fake electrum 1.0', protocol: '1.6' });
    expect(fake.requests[0]).toMatchObject({ method: 'server.version', params: ['satbell', ['1.4', '1.6']] });
    expect(client.open).toBe(true);
  });

  it('fails to connect, saying why, when the server has no protocol version in common and hangs up', async () => {
    const error = await connect({ protocol: ['2.0', '2.1'] }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ElectrumConnectionError);
    expect(error).toMatchObject({ reason: 'protocol', message: expect.stringContaining('no protocol version in common with 2.0–2.1') });
  });

  it('fails to connect when nothing listens, as unreachable', async () => {
    await fake.stop();
    await expect(connect()).rejects.toMatchObject({ name: 'ElectrumConnectionError', reason: 'unreachable' });
    await fake.restart();
    expect((await connect()).open).toBe(true);
  });

  it('keeps satoshi amounts exact as bigint', async () => {
    fake.chain.fund(alice, 2n ** 60n + 1n);
    fake.chain.mine();
    fake.chain.fund(alice, 5n);
    const client = await connect();
    expect(await client.request('blockchain.scripthash.get_balance', [aliceHash])).toEqual({ confirmed: 2n ** 60n + 1n, unconfirmed: 5n });
  });

  it('sends a batch as one array and gives each answer to its call, whatever order they come back in', async () => {
    fake.chain.fund(alice, 1_000n);
    fake.misbehave.reverseBatches = true;
    const client = await connect();
    const answers = await client.batch([
      { method: 'blockchain.scripthash.get_balance', params: [aliceHash] },
      { method: 'blockchain.no.such.method' },
      { method: 'blockchain.headers.subscribe' },
      { method: 'blockchain.scripthash.get_balance', params: ['not a script hash'] },
    ]);
    expect(answers[0]).toEqual({ ok: true, result: { confirmed: 0n, unconfirmed: 1_000n } });
    expect(answers[1]).toMatchObject({ ok: false, error: { name: 'ElectrumRpcError', code: -32601 } });
    expect(answers[2]).toEqual({ ok: true, result: { height: BigInt(fake.chain.height), hex: fake.chain.tip.header } });
    expect(answers[3]).toMatchObject({ ok: false, error: { code: 1 } });
    expect(await client.batch([])).toEqual([]);
  });

  it('throws a JSON-RPC error as an ElectrumRpcError with its code, and stays connected', async () => {
    const client = await connect();
    const error = await client.request('blockchain.transaction.get', ['ab'.repeat(32)]).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ElectrumRpcError);
    expect(error).toMatchObject({ code: 2, method: 'blockchain.transaction.get' });
    expect(await client.request('server.ping')).toBeNull();
  });

  it('hears of a new payment to a subscribed script hash, with the status its history gives', async () => {
    const client = await connect();
    expect(await client.request('blockchain.scripthash.subscribe', [aliceHash])).toBeNull();
    const heard = nextNotification(client);
    const payment = fake.chain.fund(alice, 25_000n);
    const [method, params] = await heard;
    expect(method).toBe('blockchain.scripthash.subscribe');
    const history = (await client.request('blockchain.scripthash.get_history', [aliceHash])) as { tx_hash: string; height: bigint }[];
    expect(history).toEqual([{ tx_hash: payment.txid, height: 0n, fee: 0n }]);
    expect(params).toEqual([aliceHash, historyStatus(history.map((e) => ({ txid: e.tx_hash, height: Number(e.height) })))]);

    const raw = await client.request('blockchain.transaction.get', [payment.txid]);
    expect(typeof raw).toBe('string');
    expect(raw as string).toContain(bytesToHex(outputScript(alice, 'mainnet')));
  });

  it('gets code 4 past the server’s subscription cap, and keeps the connection', async () => {
    fake.maxSubscriptions = 1;
    const client = await connect();
    await client.request('blockchain.scripthash.subscribe', [aliceHash]);
    const error = await client.request('blockchain.scripthash.subscribe', [addressScriptHash(bob, 'mainnet')]).catch((err: unknown) => err);
    expect(isSubscriptionLimit(error)).toBe(true);
    expect(error).toMatchObject({ code: 4, serverMessage: 'Subscription limit reached' });
    expect(await client.request('server.ping')).toBeNull();
  });

  it.each([
    ['a line that is not JSON', '{"jsonrpc":"2.0","id":\n', /not JSON/],
    ['an answer to an id never sent', '{"jsonrpc":"2.0","id":999,"result":null}\n', /id 999, which we never asked/],
    ['a message that is not JSON-RPC', '[1,2,3]\n', /not a JSON-RPC object/],
    ['an error about no request', '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}\n', /no request in particular: parse error/],
  ])('drops the connection with a clear error on %s, rejecting what waits, without crashing', async (_what, line, message) => {
    fake.misbehave.ignore = (method) => method === 'blockchain.scripthash.get_history';
    const client = await connect();
    const waiting = client.request('blockchain.scripthash.get_history', [aliceHash]).catch((err: unknown) => err);
    const reason = closed(client);
    fake.sendRaw(line);
    expect(await reason).toMatchObject({ name: 'ElectrumConnectionError', reason: 'protocol', message: expect.stringMatching(message) });
    expect(await waiting).toBe(await reason);
    expect(client.open).toBe(false);
    await expect(client.request('server.ping')).rejects.toBe(await reason);
  });

  it('drops the connection on a line longer than its cap, before it ends', async () => {
    const client = await connect({ maxLineBytes: 1_000 });
    const reason = closed(client);
    fake.sendRaw(`"${'x'.repeat(1_500)}`);
    expect(await reason).toMatchObject({ reason: 'protocol', message: expect.stringContaining('a line longer than 1000 bytes') });
  });

  it('reads a line split across many packets, and several lines in one', async () => {
    const client = await connect();
    const first = nextNotification(client);
    const notification = `{"jsonrpc":"2.0","method":"blockchain.scripthash.subscribe","params":["${aliceHash}",null]}\n`;
    for (const piece of notification.match(/.{1,7}/gs)!) fake.sendRaw(piece);
    expect(await first).toEqual(['blockchain.scripthash.subscribe', [aliceHash, null]]);
    const heard: unknown[] = [];
    client.on('notification', (_method, params) => heard.push(params));
    fake.sendRaw(notification + notification);
    await client.request('server.ping');
    expect(heard).toHaveLength(2);
  });

  it('hands a notification for a script hash nobody subscribed to its listeners, and stays connected', async () => {
    const client = await connect();
    const heard = nextNotification(client);
    fake.notifyScriptHash('cd'.repeat(32), 'ef'.repeat(32));
    expect(await heard).toEqual(['blockchain.scripthash.subscribe', ['cd'.repeat(32), 'ef'.repeat(32)]]);
    expect(client.open).toBe(true);
  });

  it('drops the connection, not the process, when a notification listener throws', async () => {
    const client = await connect();
    client.on('notification', () => {
      throw new Error('listener bug');
    });
    const reason = closed(client);
    fake.notifyScriptHash(aliceHash, null);
    expect(await reason).toMatchObject({ reason: 'local', message: expect.stringContaining('listener bug') });
  });

  it('times out a request the server does not answer, and ignores its late answer', async () => {
    fake.misbehave.ignore = (method) => method === 'blockchain.scripthash.get_balance';
    const client = await connect({ requestTimeoutMs: 150 });
    const error = await client.request('blockchain.scripthash.get_balance', [aliceHash]).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ElectrumTimeoutError);
    const late = fake.requests.at(-1)!;
    expect(late.method).toBe('blockchain.scripthash.get_balance');
    fake.sendRaw(`{"jsonrpc":"2.0","id":${String(late.id)},"result":{"confirmed":0,"unconfirmed":0}}\n`);
    expect(await client.request('server.ping')).toBeNull();
    expect(client.open).toBe(true);
  });

  it('pings when idle, and drops a connection whose ping goes unanswered', async () => {
    const client = await connect({ pingIntervalMs: 50, requestTimeoutMs: 100 });
    await vi.waitFor(() => expect(fake.requests.filter((r) => r.method === 'server.ping').length).toBeGreaterThanOrEqual(2), { timeout: 2_000 });
    expect(client.open).toBe(true);

    fake.misbehave.ignore = (method) => method === 'server.ping';
    expect(await closed(client)).toMatchObject({ reason: 'timeout', message: expect.stringContaining('server.ping got no answer in 100 ms') });
  });

  it('says the server closed the connection, rejecting what waits', async () => {
    fake.misbehave.ignore = () => true;
    const client = await connect();
    const waiting = client.request('blockchain.scripthash.get_history', [aliceHash]).catch((err: unknown) => err);
    const reason = closed(client);
    fake.dropAll();
    expect(await reason).toMatchObject({ reason: 'closed', message: expect.stringMatching(/the server closed the connection|the connection broke \(ECONNRESET\)/) });
    expect(await waiting).toBe(await reason);
  });

  it('closes when asked, once, with reason local', async () => {
    const client = await connect();
    const reasons: ElectrumConnectionError[] = [];
    client.on('close', (reason) => reasons.push(reason));
    client.close();
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(reasons.map((r) => r.reason)).toEqual(['local']);
  });
});

describe('the Electrum client over TLS', () => {
  let tlsFake: ElectrumFake;
  beforeEach(async () => {
    tlsFake = await startElectrumFake({ chain: new FakeChain(), tls: { key: fakeTlsKey, cert: fakeTlsCert } });
  });
  afterEach(() => tlsFake.close());
  const tlsConnect = (options: Partial<ElectrumClientOptions>) => ElectrumClient.connect({ host: tlsFake.host, port: tlsFake.port, tls: true, ...options });

  it('refuses a self-signed certificate by default, as a TLS failure', async () => {
    const error = await tlsConnect({}).catch((err: unknown) => err);
    expect(error).toMatchObject({ name: 'ElectrumConnectionError', reason: 'tls', message: expect.stringMatching(/TLS failed \(self[- ]signed certificate/) });
  });

  it('accepts it when told to (ELECTRUM_TLS_INSECURE), or when it is the certificate trusted', async () => {
    for (const options of [{ rejectUnauthorized: false }, { ca: fakeTlsCert }]) {
      const client = await tlsConnect(options);
      expect(await client.request('server.ping')).toBeNull();
      client.close();
    }
    expect(tlsFake.url).toBe(`ssl://127.0.0.1:${tlsFake.port}`);
  });
});

describe('ELECTRUM_SERVERS entries', () => {
  it('reads tcp:// and ssl:// with a host and port', () => {
    expect(parseElectrumServer('tcp://umbrel.local:50001')).toEqual({ tls: false, host: 'umbrel.local', port: 50001 });
    expect(parseElectrumServer('ssl://electrum.example.org:50002')).toEqual({ tls: true, host: 'electrum.example.org', port: 50002 });
    expect(parseElectrumServer('ssl://[::1]:50002')).toEqual({ tls: true, host: '::1', port: 50002 });
  });

  it.each(['umbrel.local:50001', 'http://x:1', 'tcp://x', 'tcp://x:0', 'tcp://x:70000', 'tcp://x:1/path'])('refuses %s', (text) => {
    expect(() => parseElectrumServer(text)).toThrow('is not tcp://host:port or ssl://host:port');
  });
});
