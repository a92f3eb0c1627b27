import { createElectrumApi, type ElectrumApi } from '../../src/chain/electrum/api.js';
import { ElectrumClient } from '../../src/chain/electrum/rpc.js';
import { FakeChain, startElectrumFake, type ElectrumFake } from '../fakes/chain/index.js';

/** An Electrum fake over a new chain, with a client connected to it and the typed calls over that. */
export async function openElectrumSession(): Promise<{ fake: ElectrumFake; client: ElectrumClient; api: ElectrumApi; close(): Promise<void> }> {
  const fake = await startElectrumFake({ chain: new FakeChain() });
  const client = await ElectrumClient.connect({ host: fake.host, port: fake.port, tls: false });
  return {
    fake,
    client,
    api: createElectrumApi(client),
    async close() {
      client.close();
      await fake.close();
    },
  };
}
