/**
 * Which addresses the sync (and the push source) must store together: those of one wallet, so that
 * a payment out with its change back is announced once, with the wallet's net. Two wallets that
 * share an address (the same wallet tracked in two servers, say) are one group.
 */

/** An address to refresh and the wallets that have it (ids; none for a single watch). */
export interface Groupable {
  address: string;
  wallets: readonly string[];
}

/**
 * The addresses in groups to apply together, in the order their first member came: an address
 * of no wallet is a group of its own; addresses linked through any wallet are one group.
 */
export function groupByWallet(items: readonly Groupable[]): string[][] {
  // Union-find over the items' positions: each wallet joins every item that has it.
  const parent = items.map((_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const firstOf = new Map<string, number>();
  items.forEach((item, i) => {
    for (const wallet of item.wallets) {
      const first = firstOf.get(wallet);
      if (first === undefined) firstOf.set(wallet, i);
      else {
        const [a, b] = [root(first), root(i)];
        // The earlier item's root stays: groups keep the order their first member came in.
        if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
      }
    }
  });
  const groups = new Map<number, string[]>();
  items.forEach((item, i) => {
    const r = root(i);
    const group = groups.get(r) ?? [];
    group.push(item.address);
    groups.set(r, group);
  });
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
}

/**
 * For the push source, which applies each group's pushed statuses together as they come: every
 * address of a wallet mapped to the name of its group (the smallest wallet id linked to it through
 * any wallet), so that two wallets sharing some addresses (one server's with a wider gap) are one
 * group, as groupByWallet makes them. Addresses of no wallet are left out.
 */
export function walletGroupNames(items: readonly Groupable[]): Map<string, string> {
  const names = new Map<string, string>();
  const byAddress = new Map(items.map((item) => [item.address, item]));
  for (const group of groupByWallet(items)) {
    const ids = group.flatMap((address) => byAddress.get(address)?.wallets ?? []);
    if (!ids.length) continue;
    const name = ids.reduce((a, b) => (BigInt(b) < BigInt(a) ? b : a));
    for (const address of group) names.set(address, name);
  }
  return names;
}

/** The stored `wallets` column of trackedAddresses (ids, comma-separated) as a list. */
export const walletIds = (stored: string): string[] => (stored ? stored.split(',') : []);
