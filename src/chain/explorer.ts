/** Links to a block explorer (mempool.space by default): every front end shows them, each its own way. */
export function createExplorerLinks(explorerUrl: string) {
  const base = explorerUrl.replace(/\/+$/, '');
  return {
    tx: (txid: string) => `${base}/tx/${encodeURIComponent(txid)}`,
    address: (address: string) => `${base}/address/${encodeURIComponent(address)}`,
  };
}
export type ExplorerLinks = ReturnType<typeof createExplorerLinks>;
