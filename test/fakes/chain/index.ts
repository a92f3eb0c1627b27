/** Loopback fakes of the Bitcoin data APIs over one in-memory chain model. */
export { canonicalAddress, FakeChain } from './model.js';
export type { AddressSummary, ChainChange, FakeBlock, FakeChainOptions, FakeInput, FakeOutput, FakeTx, Outpoint, Sats, TxSpec } from './model.js';
export { cannedResponses, corrupt, jsonResponse, startFakeHttpServer, textResponse } from './http.js';
export type { Corruption, FakeHttpServer, FakeRequest, FakeResponse, Route } from './http.js';
export { blockchainInfoRoute, looksLikeMainnetAddress, startBlockchainInfoFake } from './blockchain-info.js';
export type { BlockchainInfoFake, BlockchainInfoMisbehaviour, BlockchainInfoRouteOptions } from './blockchain-info.js';
export { esploraRoute, startEsploraFake } from './esplora.js';
export type { EsploraFake, EsploraMisbehaviour, EsploraRouteOptions } from './esplora.js';
export { fakeScriptHash, startElectrumFake } from './electrum.js';
export type { ElectrumFake, ElectrumFakeOptions, ElectrumHistoryEntry, ElectrumMisbehaviour, ElectrumRequestLog } from './electrum.js';
