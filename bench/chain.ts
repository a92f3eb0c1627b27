/**
 * The bench's side of the chain: the test fakes' FakeChain with an index by address, and the
 * Blockchain.com / Esplora fakes behind a server-side rate limit.
 *
 * FakeChain.txsOf scans every transaction of the chain, which is right for tests but would make the
 * fake, not satbell, the thing measured at 10,000 addresses (each /balance of 50 addresses would
 * scan the whole chain 50 times). IndexedFakeChain answers the same queries from an index; it is
 * still the same model, served by the same routes.
 */
import { blockchainInfoRoute } from '../test/fakes/chain/blockchain-info.js';
import { esploraRoute } from '../test/fakes/chain/esplora.js';
import { cannedResponses, startFakeHttpServer, type FakeHttpServer, type Route } from '../test/fakes/chain/http.js';
import { FakeChain, type FakeTx, type TxSpec } from '../test/fakes/chain/model.js';

export class IndexedFakeChain extends FakeChain {
  private readonly byAddress = new Map<string, Set<FakeTx>>();

  override addTx(spec: TxSpec): FakeTx {
    const tx = super.addTx(spec);
    for (const address of addressesOf(tx)) {
      let set = this.byAddress.get(address);
      if (!set) this.byAddress.set(address, (set = new Set()));
      set.add(tx);
    }
    return tx;
  }

  override removeTx(txid: string): void {
    const tx = this.getTx(txid);
    super.removeTx(txid);
    if (tx) for (const address of addressesOf(tx)) this.byAddress.get(address)?.delete(tx);
  }

  /** as FakeChain.txsOf (same order), from the index */
  override txsOf(addresses: ReadonlySet<string>): FakeTx[] {
    const found = new Set<FakeTx>();
    for (const address of addresses) for (const tx of this.byAddress.get(address) ?? []) found.add(tx);
    return [...found].sort(newestFirst);
  }
}

function addressesOf(tx: FakeTx): Set<string> {
  const set = new Set<string>();
  for (const input of tx.inputs) set.add(input.address);
  for (const output of tx.outputs) if (output.address !== null) set.add(output.address);
  return set;
}

/** the comparator of test/fakes/chain/model.ts: unconfirmed first, then newest first */
function newestFirst(a: FakeTx, b: FakeTx): number {
  if (a.block === null || b.block === null) {
    if (a.block !== b.block) return a.block === null ? -1 : 1;
    return b.firstSeen - a.firstSeen || b.seq - a.seq;
  }
  return b.block.height - a.block.height || b.seq - a.seq;
}

export interface LimitedFake extends FakeHttpServer {
  /** requests answered 429 by the fake's own rate limit */
  rejected(): number;
}

/**
 * A route behind a token bucket of `rps` requests a second (one second of burst), answering the
 * public services' bare 429 (no Retry-After) when it is empty. Infinity: no limit.
 */
function rateLimited(route: Route, rps: number, counter: { rejected: number }): Route {
  if (!Number.isFinite(rps)) return route;
  const capacity = Math.max(1, rps);
  let tokens = capacity;
  let last = Date.now();
  return (request) => {
    const now = Date.now();
    tokens = Math.min(capacity, tokens + ((now - last) / 1000) * rps);
    last = now;
    if (tokens < 1) {
      counter.rejected += 1;
      return cannedResponses.rateLimited;
    }
    tokens -= 1;
    return route(request);
  };
}

export async function startFakes(
  chain: FakeChain,
  { latencyMs, rps, esplora }: { latencyMs: number; rps: number; esplora: boolean },
): Promise<{ blockchainInfo: LimitedFake; esplora?: LimitedFake }> {
  const start = async (name: string, route: Route): Promise<LimitedFake> => {
    const counter = { rejected: 0 };
    const server = await startFakeHttpServer(name, rateLimited(route, rps, counter), { latencyMs });
    return Object.assign(server, { rejected: () => counter.rejected });
  };
  return {
    blockchainInfo: await start('blockchain.info', blockchainInfoRoute(chain)),
    ...(esplora ? { esplora: await start('esplora', esploraRoute(chain)) } : {}),
  };
}

/** "/balance 2, /rawaddr 1": each path's first segment, counted */
export function byRoute(paths: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const path of paths) {
    const route = `/${path.split('/')[1] ?? ''}`;
    counts.set(route, (counts.get(route) ?? 0) + 1);
  }
  return [...counts].map(([route, n]) => `${route} ${n}`).join(', ');
}
