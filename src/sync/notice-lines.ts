/**
 * A notice's lines, one per watch of its server that the transaction touched (src/db/schema.ts,
 * NoticeLine): reading them from any stored payload, old or new, and writing them back. Pure
 * functions; the queries that compute lines live in src/sync/notice-watchers.ts.
 */
import type { NoticeLine, NoticePayload } from '../db/schema.js';

export const addressKey = (address: string) => `address:${address}`;
export const walletKey = (walletId: bigint | string) => `wallet:${walletId}`;

/** The lines of a stored payload; one stored before lines existed has one, its own fields. */
export function noticeLines(payload: NoticePayload): NoticeLine[] {
  if (payload.lines?.length) return payload.lines;
  return [{ key: addressKey(payload.address), kind: 'address', label: payload.label, address: payload.address, net: payload.net, balanceAfter: payload.balanceAfter }];
}

/**
 * `payload` saying `lines`: the single fields from the first line (a wallet line has no address:
 * the notice row's `address` stands in), and `lines` only when one address line would not say it
 * all, so that such a notice is stored exactly as before lines existed.
 */
export function withLines(payload: NoticePayload, lines: readonly NoticeLine[], rowAddress: string): NoticePayload {
  const [first] = lines;
  if (!first) throw new Error('a notice has at least one line');
  const { lines: _old, ...fields } = payload;
  const single = lines.length === 1 && first.kind === 'address';
  return {
    ...fields,
    label: first.label,
    address: first.address ?? rowAddress,
    net: first.net,
    balanceAfter: first.balanceAfter,
    ...(single ? {} : { lines: [...lines] }),
  };
}

/** A line as computed from what is stored now; `balanceAfter` is undefined for a watch not being applied. */
export type ComputedLine = Omit<NoticeLine, 'balanceAfter'> & { balanceAfter?: string };

/**
 * The lines of a notice that already exists, recomputed: what is stored now says which watches
 * the transaction touched and by how much; a watch not being applied keeps the balance its line
 * had (`fallback` gives one for a line that is new). Existing lines keep their place, so the
 * first line, and the single fields with it, stay what the channel first read.
 */
export async function mergeLines(
  existing: readonly NoticeLine[],
  computed: readonly ComputedLine[],
  fallback: (line: ComputedLine) => Promise<string>,
): Promise<NoticeLine[]> {
  const before = new Map(existing.map((l) => [l.key, l]));
  const order = (l: ComputedLine) => {
    const i = existing.findIndex((e) => e.key === l.key);
    return i < 0 ? existing.length : i;
  };
  const merged: NoticeLine[] = [];
  for (const line of [...computed].sort((a, b) => order(a) - order(b))) {
    merged.push({ ...line, balanceAfter: line.balanceAfter ?? before.get(line.key)?.balanceAfter ?? (await fallback(line)) });
  }
  return merged;
}

/** Whether two lists of lines say the same (stored ones come back from jsonb in another key order). */
export function sameLines(a: readonly NoticeLine[], b: readonly NoticeLine[]): boolean {
  const text = (l: NoticeLine) => JSON.stringify([l.key, l.kind, l.label, l.address ?? null, l.net, l.balanceAfter, l.internal === true]);
  return a.length === b.length && a.every((l, i) => text(l) === text(b[i]!));
}
