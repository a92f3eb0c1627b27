import { and, eq, inArray } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deriveRange, parseWallet } from '../../src/chain/descriptor/index.js';
import { createBlockchainInfoProvider } from '../../src/chain/providers/blockchain-info.js';
import { addresses, addressTransactions, guildSettings, notices, transactions, walletAddresses, wallets, watches as watchesTable } from '../../src/db/schema.js';
import { UserError } from '../../src/errors.js';
import { createSync } from '../../src/sync/sync.js';
import { createNoticeSignal } from '../../src/sync/notice-signal.js';
import { createWalletService, type ScanProgress, type TrackedWallet, type WalletService } from '../../src/wallet/service.js';
import { type BlockchainInfoFake, FakeChain, startBlockchainInfoFake } from '../fakes/chain/index.js';
import { testAddress } from '../support/addresses.js';
import { createTestDatabase, testBackends } from '../support/database.js';

/** BIP-84's account 0 of the "abandon … about" seed: its first addresses are in the BIP. */
const ZPUB = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
/** BIP-86's key-path account: another wallet, with nothing in common with the first. */
const XPUB_TR = 'tr([73c5da0a/86h/0h/0h]xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ/<0;1>/*)';

describe.each(testBackends())('whole wallets on %s', (backend) => {
  const logger = pino({ level: 'silent' });
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let api: BlockchainInfoFake;
  let chain: FakeChain;
  let wallet: WalletService;
  let now: Date;
  let guilds = 0;
  let guild: string;
  let other: string;
  let seed = 0;
  const outsider = () => testAddress(`wallets-${seed++}`);
  const USER = '200000000000000001';
  const zpub = parseWallet(ZPUB, 'mainnet');
  const receive = (i: number) => deriveRange(zpub, 0, i, i + 1)[0]!;
  const change = (i: number) => deriveRange(zpub, 1, i, i + 1)[0]!;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database?.close();
  });

  function service({ max }: { max?: number } = {}) {
    const watchesChanged = createNoticeSignal();
    return createWalletService({
      db: database.db,
      provider: createBlockchainInfoProvider({ baseUrl: api.url, logger }),
      logger,
      clock: () => now,
      maxAddressesPerGuild: max,
      watchesChanged,
    });
  }

  beforeEach(async () => {
    // Each test has a chain of its own but one database: the same wallet's addresses in two tests
    // would share rows, so each test is in servers of its own and removes what it tracked.
    chain = new FakeChain();
    api = await startBlockchainInfoFake({ chain });
    now = new Date('2026-12-01T12:00:00Z');
    guild = `g${++guilds}`;
    other = `g${++guilds}`;
    wallet = service();
    return async () => {
      for (const g of [guild, other]) for (const w of await database.db.select().from(wallets).where(eq(wallets.guildId, g))) await wallet.untrack({ guildId: g, address: w.label });
      for (const g of [guild, other]) for (const w of await wallet.listPage({ guildId: g, limit: 100, offset: 0 }).then((p) => p.watches)) if (w.kind === undefined) await wallet.untrack({ guildId: g, address: w.address });
      await api.close();
    };
  });

  const track = (input: { address?: string; label?: string; gap?: number; onScan?: (p: ScanProgress) => void; guildId?: string }) =>
    wallet.track({ guildId: input.guildId ?? guild, userId: USER, address: input.address ?? ZPUB, label: input.label, gap: input.gap, onScan: input.onScan }) as Promise<TrackedWallet>;

  async function rejection(promise: Promise<unknown>): Promise<UserError> {
    const err = await promise.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }

  const balanceCalls = () => api.requests.filter((r) => r.path === '/balance').length;
  const historyCalls = () => api.requests.filter((r) => r.path.startsWith('/rawaddr/')).length;
  const multiaddrCalls = () => api.requests.filter((r) => r.path === '/multiaddr').map((r) => r.query.active);

  async function watchedOf(label: string, guildId = guild) {
    const [row] = await database.db.select().from(wallets).where(and(eq(wallets.guildId, guildId), eq(wallets.label, label)));
    return database.db.select().from(walletAddresses).where(eq(walletAddresses.walletId, row!.id));
  }

  describe('track', () => {
    it('scans each chain until gap unused addresses follow the last used one, in batched calls, with progress', async () => {
      chain.fund(receive(0), 100_000n);
      chain.fund(receive(3), 20_000n);
      chain.fund(change(1), 5_000n);
      chain.mine();
      const seen: ScanProgress[] = [];

      const result = await track({ label: 'savings', gap: 5, onScan: (p) => seen.push(p) });

      // receive: 0..8 (3 is the last used, 5 follow); change: 0..6
      expect(result).toMatchObject({ kind: 'wallet', label: 'savings', short: 'zpub6rFR…tZYs', balance: 125_000n, txCount: 3, scanned: 16, used: 3, gap: 5, checksumGiven: false });
      expect(result.checksum).toMatch(/^[a-z0-9]{8}$/);
      expect(seen.filter((p) => !p.histories)).toEqual([
        { scanned: 10, used: 3 },
        { scanned: 16, used: 3 },
      ]);
      expect(seen.at(-1)).toEqual({ scanned: 16, used: 3, histories: { fetched: 3, total: 3 } });
      // Two rounds of balances (10, then 6 addresses), each one call; the used ones' histories in one.
      expect(balanceCalls()).toBe(2);
      expect(multiaddrCalls()).toEqual([[receive(0), receive(3), change(1)].join('|')]);
      expect(historyCalls()).toBe(0);
      const rows = await watchedOf('savings');
      expect(rows.filter((r) => r.chain === 0).map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      expect(rows.filter((r) => r.chain === 1).map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(rows.find((r) => r.chain === 0 && r.index === 3)?.address).toBe(receive(3));
      // The sync's work list has every one of them.
      const tracked = new Set((await wallet.trackedAddresses()).map((a) => a.address));
      for (const r of rows) expect(tracked.has(r.address)).toBe(true);
    });

    it('is one watch: one row in /addresses, its balance and its transactions with the net for the whole wallet', async () => {
      chain.fund(receive(0), 100_000n);
      chain.mine();
      const single = outsider();
      chain.fund(single, 7n);
      await wallet.track({ guildId: guild, userId: USER, address: single, label: 'tip jar' });
      await track({ label: 'savings', gap: 3 });
      // A payment out with change back: the wallet's net is −(amount + fee).
      const payment = chain.addTx({ inputs: [{ address: receive(0), value: 100_000n }], outputs: [{ address: outsider(), value: 60_000n }, { address: change(0), value: 39_000n }] });
      chain.mine();
      await createSync({ wallet, provider: createBlockchainInfoProvider({ baseUrl: api.url, logger }), logger })();

      const balance = await wallet.balance({ guildId: guild, address: 'SAVINGS' });
      // gap 3 past receive 0 and, since the payment, change 0: four on each chain
      expect(balance).toMatchObject({ kind: 'wallet', label: 'savings', balance: 39_000n, txCount: 2, used: 2, watched: 8 });
      const txns = await wallet.txns({ guildId: guild, address: 'savings' });
      expect(txns.kind).toBe('wallet');
      expect(txns.txs.map((t) => [t.txid, t.net])).toEqual([
        [payment.txid, -61_000n],
        [expect.any(String), 100_000n],
      ]);
      expect(txns.total).toBe(2);

      const page = await wallet.listPage({ guildId: guild, limit: 10, offset: 0 });
      expect(page.watches.map((w) => [w.kind ?? 'address', w.label])).toEqual([
        ['address', 'tip jar'],
        ['wallet', 'savings'],
      ]);
      expect(page.watches[1]).toMatchObject({ short: 'zpub6rFR…tZYs', balance: 39_000n, used: 2, watched: 8 });
      expect(page).toMatchObject({ total: 2, totalBalance: 39_007n, addresses: 9 });
      expect(await wallet.suggest({ guildId: guild, fragment: 'sav' })).toEqual([{ kind: 'wallet', label: 'savings', short: 'zpub6rFR…tZYs' }]);
    });

    it('refreshes a wallet with fresh:true in one balance call, fetching only the histories of moved addresses', async () => {
      await track({ label: 'savings', gap: 3 });
      chain.fund(change(1), 4_000n);
      const calls = api.requests.length;
      const view = await wallet.balance({ guildId: guild, address: 'savings', fresh: true });
      expect(view).toMatchObject({ kind: 'wallet', balance: 4_000n, txCount: 1, source: 'live' });
      expect(api.requests.slice(calls).map((r) => r.path)).toEqual(['/balance', `/rawaddr/${change(1)}`]);
      // The window of the change chain moved on with it: 0..4.
      expect((await watchedOf('savings')).filter((r) => r.chain === 1)).toHaveLength(5);
      const txns = await wallet.txns({ guildId: guild, address: 'savings' });
      expect(txns).toMatchObject({ kind: 'wallet', total: 1, source: 'stored' });
    });

    it('fetches the histories of 120 used addresses in ceil(120/50) batches of /multiaddr pages, storing what one /rawaddr each stores', async () => {
      // Each of receive 0..59 is paid, then spent with its change to change i, in a block of
      // its own: 120 used, 120 txs, 60 blocks whose times are asked as one /rawaddr each asks them.
      for (let i = 0; i < 60; i++) {
        chain.fund(receive(i), 10_000n + BigInt(i));
        chain.addTx({ inputs: [{ address: receive(i), value: 10_000n + BigInt(i) }], outputs: [{ address: outsider(), value: 4_000n }, { address: change(i), value: 5_000n }] });
        chain.mine();
      }
      const seen: ScanProgress[] = [];

      const batched = await track({ label: 'batched', gap: 3, onScan: (p) => seen.push(p) });
      const rowsOf = async (label: string, guildId = guild) => {
        const list = (await watchedOf(label, guildId)).map((r) => r.address);
        const links = await database.db.select().from(addressTransactions).where(inArray(addressTransactions.address, list));
        const txs = await database.db.select().from(transactions).where(inArray(transactions.txid, links.map((l) => l.txid)));
        const balances = await database.db.select({ address: addresses.address, balance: addresses.balance, txCount: addresses.txCount }).from(addresses).where(inArray(addresses.address, list));
        const byKey = <T,>(rows: T[], key: (row: T) => string) => rows.sort((a, b) => (key(a) < key(b) ? -1 : 1));
        return { links: byKey(links, (l) => l.address + l.txid), txs: byKey(txs, (t) => t.txid), balances: byKey(balances, (b) => b.address) };
      };
      const stored = await rowsOf('batched');

      // Batches: receive 0..49 (100 txs: a full page, then an empty one), receive 50..59 with
      // change 0..39 (60 txs), change 40..59 (20 txs).
      expect(multiaddrCalls()).toHaveLength(4);
      expect(api.requests.filter((r) => r.path === '/multiaddr').map((r) => r.query.offset)).toEqual(['0', '100', '0', '0']);
      expect(historyCalls()).toBe(0);
      expect(seen.filter((p) => p.histories).map((p) => p.histories)).toEqual([
        { fetched: 50, total: 120 },
        { fetched: 100, total: 120 },
        { fetched: 120, total: 120 },
      ]);
      expect(batched).toMatchObject({ balance: 60n * 5_000n, txCount: 120, used: 120 });
      expect(stored.links).toHaveLength(180);
      expect(stored.txs).toHaveLength(120);

      // The same wallet scanned by a provider without getHistories, one /rawaddr per used address.
      const { getHistories: _, ...perAddress } = createBlockchainInfoProvider({ baseUrl: api.url, logger });
      wallet = createWalletService({ db: database.db, provider: perAddress, logger, clock: () => now });
      await wallet.untrack({ guildId: guild, address: 'batched' });
      const calls = api.requests.length;
      await track({ label: 'single', gap: 3, guildId: other });
      expect(api.requests.slice(calls).filter((r) => r.path.startsWith('/rawaddr/'))).toHaveLength(120);
      const single = await rowsOf('single', other);
      expect(single.links).toEqual(stored.links);
      expect(single.balances).toEqual(stored.balances);
      const untimed = <T extends { time: Date; timeIsBlockTime: boolean }>(t: T) => ({ ...t, time: null, timeIsBlockTime: null });
      expect(single.txs.map(untimed)).toEqual(stored.txs.map(untimed));
      // Block times: a batch's newest 10 blocks, as one history's (the wallet's newest 10 among
      // them, which /txns shows first), each the one /rawaddr stored; the sync mends the rest.
      const heights = [...new Set(stored.txs.map((t) => t.blockHeight!))].sort((a, b) => b - a);
      const timed = stored.txs.filter((t) => t.timeIsBlockTime);
      for (const t of stored.txs.filter((t) => heights.slice(0, 10).includes(t.blockHeight!))) expect(t.timeIsBlockTime).toBe(true);
      for (const t of timed) expect(t.time).toEqual(single.txs.find((s) => s.txid === t.txid)!.time);
      expect(new Set(timed.map((t) => t.blockHeight)).size).toBeLessThanOrEqual(10 * 3);
      expect(timed.length).toBeLessThan(stored.txs.length);
    });

    it('asks a batch address by address when its /multiaddr answer does not hold up, and tracks the wallet even so', async () => {
      chain.fund(receive(0), 100_000n);
      chain.fund(change(1), 5_000n);
      chain.mine();
      api.misbehave = { multiaddrOmits: change(1) };
      const result = await track({ label: 'savings', gap: 3 });
      expect(multiaddrCalls()).toHaveLength(1);
      expect(api.requests.filter((r) => r.path.startsWith('/rawaddr/')).map((r) => r.path)).toEqual([`/rawaddr/${receive(0)}`, `/rawaddr/${change(1)}`]);
      expect(result).toMatchObject({ balance: 105_000n, txCount: 2, used: 2 });
    });

    it('gives a wallet without a label the first free "wallet N", and refuses the same wallet twice in a server', async () => {
      const first = await track({ gap: 2 });
      expect(first.label).toBe('wallet 1');
      await wallet.track({ guildId: guild, userId: USER, address: outsider(), label: 'Wallet 2' });
      expect((await track({ address: XPUB_TR, gap: 2 })).label).toBe('wallet 3');
      const err = await rejection(track({ gap: 2, label: 'again' }));
      expect(err.code).toBe('already_tracked');
      expect(err.message).toContain('wallet 1');
      // Written as a descriptor with the key's origin, it is still the same wallet.
      const withOrigin = `wpkh([73c5da0a/84'/0'/0']${ZPUB}/<0;1>/*)`;
      expect((await rejection(track({ address: withOrigin, gap: 2 }))).code).toBe('already_tracked');
      // Another server may track the same wallet.
      expect((await track({ gap: 2, guildId: other })).label).toBe('wallet 1');
    });

    it('keeps labels unique across single watches and wallets, in any case', async () => {
      await wallet.track({ guildId: guild, userId: USER, address: outsider(), label: 'Cold' });
      expect((await rejection(track({ label: 'cold', gap: 2 }))).code).toBe('label_taken');
      await track({ label: 'Savings', gap: 2 });
      expect((await rejection(wallet.track({ guildId: guild, userId: USER, address: outsider(), label: 'SAVINGS' }))).code).toBe('label_taken');
      expect((await rejection(wallet.rename({ guildId: guild, address: 'cold', label: 'savings' }))).code).toBe('label_taken');
      expect((await rejection(wallet.rename({ guildId: guild, address: 'savings', label: 'COLD' }))).code).toBe('label_taken');
      expect(await wallet.rename({ guildId: guild, address: 'savings', label: 'Rainy day' })).toEqual({ kind: 'wallet', label: 'Rainy day', previous: 'Savings', short: 'zpub6rFR…tZYs' });
      expect((await wallet.balance({ guildId: guild, address: 'rainy DAY' })).kind).toBe('wallet');
    });

    it('gives a label to one of two tracks typed at the same instant, a wallet and an address', async () => {
      // Both pass the label check before either has stored anything: the database decides.
      const both = await Promise.allSettled([
        track({ label: 'Race', gap: 2 }),
        wallet.track({ guildId: guild, userId: USER, address: outsider(), label: 'race' }),
      ]);
      expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = both.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((lost.reason as UserError).code).toBe('label_taken');
    });

    it('refuses, in the database itself, a label that the other kind of watch has', async () => {
      const at = new Date(now);
      const address = outsider();
      await wallet.track({ guildId: guild, userId: USER, address });
      await database.db.insert(wallets).values({ guildId: guild, descriptor: 'stored-elsewhere', label: 'Held', gap: 1, addedBy: USER, createdAt: at });
      const code = (err: unknown) => ((err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code);
      const asWatch = await database.db.update(watchesTable).set({ label: 'HELD' }).where(eq(watchesTable.address, address)).then(() => undefined, (e: unknown) => e);
      expect(code(asWatch)).toBe('23505');
      await database.db.update(watchesTable).set({ label: 'Mine' }).where(eq(watchesTable.address, address));
      const asWallet = await database.db.insert(wallets).values({ guildId: guild, descriptor: 'another', label: 'mine', gap: 1, addedBy: USER, createdAt: at }).then(() => undefined, (e: unknown) => e);
      expect(code(asWallet)).toBe('23505');
      // Another server's labels are its own.
      await database.db.insert(wallets).values({ guildId: other, descriptor: 'another', label: 'mine', gap: 1, addedBy: USER, createdAt: at });
      await database.db.delete(wallets).where(eq(wallets.descriptor, 'stored-elsewhere'));
      await database.db.delete(wallets).where(eq(wallets.descriptor, 'another'));
    });

    it('refuses a gap out of range and a private key, before any call', async () => {
      expect((await rejection(track({ gap: 0 }))).code).toBe('invalid_input');
      expect((await rejection(track({ gap: 1001 }))).code).toBe('invalid_input');
      const xprv = 'xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi';
      expect(await rejection(track({ address: xprv }))).toBeInstanceOf(UserError);
      expect(api.requests).toHaveLength(0);
    });
  });

  describe('the cap', () => {
    it('refuses a wallet whose window cannot fit before any call, saying how many fit', async () => {
      wallet = service({ max: 10 });
      await wallet.track({ guildId: guild, userId: USER, address: outsider() });
      const calls = api.requests.length;
      const err = await rejection(track({ gap: 5 }));
      expect(err.code).toBe('limit_reached');
      expect(err.message).toContain('needs at least 10 addresses');
      expect(err.message).toContain('room for 9 more');
      expect(api.requests).toHaveLength(calls);
    });

    it('refuses a wallet whose used addresses make it outgrow the room once scanned, and stores nothing', async () => {
      wallet = service({ max: 6 });
      chain.fund(receive(1), 1_000n);
      chain.mine();
      const err = await rejection(track({ gap: 3 }));
      expect(err.code).toBe('limit_reached');
      // receive 0..4 (1 is used), change 0..2
      expect(err.message).toContain('needs at least 8 addresses');
      expect(await database.db.select().from(wallets).where(eq(wallets.guildId, guild))).toHaveLength(0);
    });

    it('counts an address watched singly and by a wallet once', async () => {
      wallet = service({ max: 6 });
      await wallet.track({ guildId: guild, userId: USER, address: receive(0) });
      await track({ gap: 2 });
      const page = await wallet.listPage({ guildId: guild, limit: 10, offset: 0 });
      expect(page).toMatchObject({ total: 2, addresses: 4 });
      await wallet.track({ guildId: guild, userId: USER, address: outsider() });
      await wallet.track({ guildId: guild, userId: USER, address: outsider() });
      expect((await rejection(wallet.track({ guildId: guild, userId: USER, address: outsider() }))).code).toBe('limit_reached');
    });
  });

  describe('the gap window', () => {
    it('moves on when a payment uses an address near its end, and a payment to a new address is then seen', async () => {
      await track({ label: 'savings', gap: 3 });
      expect((await watchedOf('savings')).filter((r) => r.chain === 0)).toHaveLength(3);
      const sync = createSync({ wallet, provider: createBlockchainInfoProvider({ baseUrl: api.url, logger }), logger });

      chain.fund(receive(2), 1_000n);
      chain.mine();
      await sync();
      const rows = await watchedOf('savings');
      expect(rows.filter((r) => r.chain === 0).map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(rows.filter((r) => r.chain === 1).map((r) => r.index)).toEqual([0, 1, 2]);
      const [row] = await database.db.select().from(addresses).where(eq(addresses.address, receive(5)));
      expect(row).toMatchObject({ balance: 0n, txCount: 0, balanceUpdatedAt: now });

      // The next receive address is watched now: a payment to it counts, and moves the window again.
      chain.fund(receive(5), 2_000n);
      chain.mine();
      await sync();
      expect(await wallet.balance({ guildId: guild, address: 'savings' })).toMatchObject({ balance: 3_000n, used: 2, watched: 12 });
      expect((await watchedOf('savings')).filter((r) => r.chain === 0)).toHaveLength(9);
    });

    it('tells the push source of the new addresses after the window moved', async () => {
      const watchesChanged = createNoticeSignal();
      wallet = createWalletService({ db: database.db, provider: createBlockchainInfoProvider({ baseUrl: api.url, logger }), logger, clock: () => now, watchesChanged });
      await track({ label: 'savings', gap: 2 });
      let told = 0;
      watchesChanged.listen(() => told++);
      chain.fund(receive(1), 1_000n);
      chain.mine();
      await wallet.refreshMany([receive(1)]);
      expect(told).toBe(1);
      expect((await watchedOf('savings')).filter((r) => r.chain === 0)).toHaveLength(4);
    });
  });

  describe('the sync', () => {
    it("stores a wallet's moved addresses together, and a single watch's on its own", async () => {
      chain.fund(receive(0), 100_000n);
      chain.mine();
      await track({ label: 'savings', gap: 2 });
      const single = outsider();
      await wallet.track({ guildId: guild, userId: USER, address: single });
      const together: string[][] = [];
      const alone: string[] = [];
      const watching: WalletService = {
        ...wallet,
        refreshMany: (list, ...rest) => (together.push([...list]), wallet.refreshMany(list, ...rest)),
        refresh: (address, ...rest) => (alone.push(address), wallet.refresh(address, ...rest)),
      };
      const sync = createSync({ wallet: watching, provider: createBlockchainInfoProvider({ baseUrl: api.url, logger }), logger, clock: () => now });

      await database.db.insert(guildSettings).values({ guildId: guild, channelId: 'c1', updatedAt: now });
      // A payment out of receive 0 with change back to change 0, and a payment to the single address.
      const payment = chain.addTx({ inputs: [{ address: receive(0), value: 100_000n }], outputs: [{ address: outsider(), value: 60_000n }, { address: change(0), value: 39_000n }] });
      chain.fund(single, 500n);
      const report = await sync();

      expect(together.map((g) => [...g].sort())).toEqual([[receive(0), change(0)].sort()]);
      expect(alone).toEqual([single]);
      expect(report).toMatchObject({ refreshed: 3, failed: 0, added: 3 });
      // One notice of the payment, with the wallet's net: −(amount + fee), not half of it.
      const written = await database.db.select().from(notices).where(and(eq(notices.guildId, guild), eq(notices.txid, payment.txid)));
      expect(written.map((n) => n.payload.lines?.map((l) => [l.kind, l.label, l.net]))).toEqual([[['wallet', 'savings', '-61000']]]);
      // Written once, in the transaction that stored both: never first posted with half the net, then edited.
      expect(written.map((n) => n.version)).toEqual([1]);
      expect(await wallet.balance({ guildId: guild, address: 'savings' })).toMatchObject({ balance: 39_000n, txCount: 2 });
      // Once confirmed, an idle pass asks the balances only: one call for the wallet's addresses and the single one.
      chain.mine();
      await sync();
      const calls = api.requests.length;
      await sync();
      expect(api.requests.slice(calls).map((r) => r.path)).toEqual(['/balance']);
    });
  });

  describe('untrack', () => {
    it('removes the wallet and the addresses only it had, keeping those another watch or wallet needs', async () => {
      chain.fund(receive(0), 100_000n);
      chain.fund(receive(1), 1_000n);
      chain.mine();
      await wallet.track({ guildId: guild, userId: USER, address: receive(1), label: 'one of them' });
      await track({ label: 'savings', gap: 2 });
      await track({ label: 'theirs', gap: 3, guildId: other });
      const before = new Set((await wallet.trackedAddresses()).map((a) => a.address));
      expect(before.has(receive(4))).toBe(true);

      expect(await wallet.untrack({ guildId: other, address: 'theirs' })).toEqual({ kind: 'wallet', label: 'theirs', short: 'zpub6rFR…tZYs' });
      let stored = new Set((await database.db.select({ a: addresses.address }).from(addresses)).map((r) => r.a));
      // What only the other server's wider window had is gone; the rest stays for this server.
      expect(stored.has(receive(4))).toBe(false);
      expect(stored.has(receive(3))).toBe(true);

      await wallet.untrack({ guildId: guild, address: 'savings' });
      stored = new Set((await database.db.select({ a: addresses.address }).from(addresses)).map((r) => r.a));
      expect(stored.has(receive(1))).toBe(true);
      expect(stored.has(receive(0))).toBe(false);
      expect(stored.has(change(0))).toBe(false);
      expect((await wallet.balance({ guildId: guild, address: 'one of them' })).balance).toBe(1_000n);
      expect((await rejection(wallet.untrack({ guildId: guild, address: 'savings' }))).code).toBe('unknown_address');
    });

    // Two connections are needed: PGlite has one, so it cannot interleave two transactions.
    it.runIf(backend === 'postgres')('takes turns with a payment that moves the window on meanwhile, and leaves no address behind', async () => {
      await track({ label: 'savings', gap: 2 });
      const [first] = await watchedOf('savings');
      const walletId = first!.walletId;
      const next = receive(2);
      let untracked: Promise<unknown> | undefined;
      // What an apply does: lock the address a payment used, then store the window's next address.
      await database.db.transaction(async (tx) => {
        await tx.update(addresses).set({ txCount: 1 }).where(eq(addresses.address, receive(1)));
        untracked = wallet.untrack({ guildId: guild, address: 'savings' }).catch((err: unknown) => err);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await tx.insert(addresses).values({ address: next, balance: 0n, txCount: 0, balanceUpdatedAt: now, txsUpdatedAt: now });
        await tx.insert(walletAddresses).values({ walletId, chain: 0, index: 2, address: next });
      });
      expect(await untracked).toMatchObject({ kind: 'wallet', label: 'savings' });
      const stored = new Set((await database.db.select({ a: addresses.address }).from(addresses)).map((r) => r.a));
      expect([receive(0), receive(1), next, change(0), change(1)].filter((a) => stored.has(a))).toEqual([]);
    });

    it('keeps an address a wallet watches when a single watch of it goes', async () => {
      chain.fund(receive(0), 5_000n);
      chain.mine();
      await wallet.track({ guildId: guild, userId: USER, address: receive(0) });
      await track({ label: 'savings', gap: 2, guildId: other });
      await wallet.untrack({ guildId: guild, address: receive(0) });
      expect(await wallet.balance({ guildId: other, address: 'savings' })).toMatchObject({ balance: 5_000n, txCount: 1 });
    });
  });
});
