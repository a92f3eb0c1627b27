/** The shapes of the fake chain (model.ts): what tests give it and what its views read. */
/** Satoshis; numbers are accepted for brevity in tests and converted to bigint at once. */
export type Sats = bigint | number;

export interface TxSpec {
  /**
   * 64 hex; by default the hash of the tx's raw bytes. A txid given here is shown by the HTTP views
   * as it is, but the raw bytes the Electrum view serves for it do not hash to it: the Electrum
   * view is then a server that lies about that tx, and a client that checks refuses it.
   */
  txid?: string;
  /**
   * where the money comes from; none for a coinbase-like funding tx. `coin` names the output to
   * spend (an RBF replacement spending its original's coin, say); by default see the rules above.
   */
  inputs?: { address: string; value: Sats; coin?: Outpoint }[];
  /** an output without an address is an OP_RETURN-like one */
  outputs: { address?: string; value: Sats }[];
  /** inputs − outputs when absent; checked against them when given with inputs */
  fee?: Sats;
  rbf?: boolean;
  /** first-seen time, unix seconds; the fake clock's next tick when absent */
  time?: number;
}

export interface Outpoint {
  readonly txid: string;
  readonly vout: number;
}

export interface FakeInput {
  readonly address: string;
  readonly value: bigint;
  /** the coin it spends: an output of a chain tx, or of a parent minted for it */
  readonly coin: Outpoint;
}

export interface FakeOutput {
  readonly address: string | null;
  readonly value: bigint;
  /** the output script, hex (scripts.ts) */
  readonly script: string;
}

export interface FakeBlock {
  readonly height: number;
  readonly hash: string;
  /** unix seconds */
  readonly time: number;
  readonly txids: readonly string[];
  /** the 80-byte header, hex; `hash` is its double sha256 */
  readonly header: string;
}

export interface FakeTx {
  readonly txid: string;
  /** creation order, used to break ties when sorting */
  readonly seq: number;
  readonly inputs: readonly FakeInput[];
  readonly outputs: readonly FakeOutput[];
  readonly fee: bigint;
  readonly rbf: boolean;
  /** its serialisation, hex; hashes to txid unless the spec gave a txid */
  readonly raw: string;
  /** unix seconds */
  readonly firstSeen: number;
  /** null while in the mempool */
  block: FakeBlock | null;
}

export interface AddressSummary {
  address: string;
  /** confirmed + unconfirmed */
  balance: bigint;
  nTx: number;
  totalReceived: bigint;
  totalSent: bigint;
}

/** what changed, for views that push (Electrum): a tx added, a block mined, a mempool tx removed */
export type ChainChange = { kind: 'tx'; tx: FakeTx } | { kind: 'block'; block: FakeBlock; txs: readonly FakeTx[] } | { kind: 'removed'; tx: FakeTx };

export interface FakeChainOptions {
  /** height of the tip before the first mine(); default 840 000 */
  startHeight?: number;
  /** unix seconds of that tip; default 2024-04-20 */
  startTime?: number;
  /**
   * a chain a real Electrum wallet on --regtest accepts: it starts at height 0 from regtest's real
   * genesis block (startHeight and startTime are then not given), and every block's nonce meets
   * regtest's target
   */
  regtest?: boolean;
}
