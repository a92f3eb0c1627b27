// Opens a database the way the bot does, writes a row, says "ready" and waits to be killed.
import { openDatabase } from '../../src/db/client.js';
import { addresses } from '../../src/db/schema.js';

const url = process.argv[2];
if (!url) throw new Error('usage: hold-database.ts DATABASE_URL');
const handle = await openDatabase(url);
await handle.db
  .insert(addresses)
  .values({ address: `bc1q${process.pid}`, balance: 1n, txCount: 1, balanceUpdatedAt: new Date() });
process.stdout.write('ready\n');
process.on('SIGTERM', () => void handle.close().then(() => process.exit(0)));
setInterval(() => {}, 60_000);
