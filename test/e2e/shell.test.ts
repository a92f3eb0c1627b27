import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BlockchainInfoFake, startBlockchainInfoFake } from '../fakes/chain/index.js';
import { testAddress } from '../support/addresses.js';
import { type ShellProcess, spawnShell } from '../support/process.js';
import { type } from '../support/shell-typing.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'satbell-shell-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function start(api: BlockchainInfoFake, env: Record<string, string> = {}): ShellProcess {
  const shell = spawnShell(
    // A sync runs at start and when `sync` is typed; the schedule stays out of the way.
    { BLOCKCHAIN_INFO_URL: api.url, DATABASE_URL: 'memory:', SYNC_CRON: '0 0 1 1 *', ...env },
    tempDir(),
  );
  cleanups.push(() => {
    shell.child.kill('SIGKILL');
    return shell.exited;
  });
  return shell;
}

describe('npm run shell', () => {
  let api: BlockchainInfoFake;
  let shell: ShellProcess;
  const address = testAddress('shell-cold');

  beforeAll(async () => {
    api = await startBlockchainInfoFake();
    cleanups.push(() => api.close());
    api.chain.fund(address, 21_000n);
    api.chain.mine();
    api.chain.addManyTxs(address, 12);
    shell = start(api);
  });

  // One session, typed in order, as someone trying satbell would.
  it('greets with one line that points to /help', async () => {
    await expect.poll(() => shell.stdout(), { timeout: 20_000 }).toContain('\n');
    expect(shell.stdout().split('\n')[0]).toMatch(/^satbell shell \(data in memory, gone on exit\).*Type \/help for the commands, exit to quit\.$/);
  });

  it('tracks an address with a label and shows the reply as plain text', async () => {
    const reply = await type(shell, `/track ${address} label:cold`);
    expect(reply).toContain('Now tracking\n');
    expect(reply).toContain(`  cold — ${address}\n`);
    expect(reply).toContain('  Balance: 0.00033066 BTC\n');
    expect(reply).toContain('  Transactions: 13\n');
    expect(reply).not.toMatch(/\*\*|`|<t:/);
  });

  it('answers /balance for a label with fresh:true from the network', async () => {
    const reply = await type(shell, '/balance cold fresh:true');
    expect(reply).toMatch(/^cold\n {2}bc1q\w+\n {2}0\.00033066 BTC\n {2}13 transactions\n {2}Live from /);
  });

  it('lists transactions with links, and turns their pages with next and prev', async () => {
    const first = await type(shell, '/txns cold');
    expect(first).toMatch(/^Transactions of cold\n/);
    expect(first).toMatch(/[0-9a-f]{8}…[0-9a-f]{8} <https:\/\/mempool\.space\/tx\/[0-9a-f]{64}> · \d+ years? ago · block 840013 · \+0\.00001011 BTC/);
    expect(first.trimEnd().split('\n').at(-1)).toBe('page 1 of 2 — type next for more');

    const second = await type(shell, 'next');
    expect(second).toContain('+0.00021000 BTC');
    expect(second.trimEnd().split('\n').at(-1)).toBe('page 2 of 2 — type prev to go back');
    expect(await type(shell, 'next')).toBe('That was the last page.\n');
    expect(await type(shell, 'prev')).toContain('page 1 of 2');
  });

  it('says there is no such page when asked for one past the end, and shows the last', async () => {
    const past = await type(shell, '/txns cold page:9');
    expect(past).toContain('There is no page 9: showing the last page, 2 of 2');
    expect(past).toContain('+0.00021000 BTC');
  });

  it('refuses an invalid address, saying its checksum is wrong', async () => {
    const typo = `${address.slice(0, -1)}${address.endsWith('q') ? 'p' : 'q'}`;
    expect(await type(shell, `/track ${typo}`)).toBe(`${typo} is not a valid Bitcoin address (bad checksum). Check it for typos and paste it again.\n`);
  });

  it('refuses a label with a link and text with a control character, as in Discord', async () => {
    const other = testAddress('shell-hostile');
    expect(await type(shell, `/track ${other} label:"https://evil.example"`)).toMatch(/^A label cannot contain a link/);
    expect(await type(shell, '/balance cold\u202e')).toMatch(/^The address or label contains an invisible control character \(U\+202E\)/);
    expect(api.requests.some((r) => `${r.path} ${JSON.stringify(r.query)}`.includes(other))).toBe(false);
  });

  it('says what is wrong with a line it cannot run', async () => {
    expect(await type(shell, '/balance cold frsh:true')).toBe('/balance has no option frsh. Its options: address, fresh.\n');
    expect(await type(shell, '/balance')).toMatch(/^\/balance needs address: \/balance <address> \[fresh:…\]\n$/);
    expect(await type(shell, '/balanse cold')).toMatch(/^There is no \/balanse\. The commands are \/track, /);
  });

  it('prints a notice when a sync finds a new transaction, and the update when it confirms', async () => {
    api.chain.fund(address, 50_000n);
    const seen = await type(shell, 'sync');
    expect(seen).toMatch(/^\[notice #terminal\] Incoming \+0\.00050000 BTC\n {2}cold — bc1q\w+ <https:\/\/mempool\.space\/address\/bc1q\w+>\n/);
    expect(seen).toContain('  New balance: 0.00083066 BTC\n');
    expect(seen).toContain('  Status: Unconfirmed: waiting in the mempool\n');
    expect(seen.trimEnd().split('\n').at(-1)).toBe('Sync done.');

    const block = api.chain.mine();
    const confirmed = await type(shell, 'sync');
    expect(confirmed).toMatch(/^\[notice #terminal\] updated: Incoming \+0\.00050000 BTC\n/);
    expect(confirmed).toContain(`  Status: Confirmed in block ${block.height.toLocaleString('en-US')}, `);
  });

  it('tracks a wallet from a descriptor typed with its hardened steps, and shows it by its label', async () => {
    const zpub = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
    // BIP-84's first receive address of that key
    api.chain.fund('bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu', 7_000n);
    api.chain.mine();
    const tracked = await type(shell, `/track wpkh([73c5da0a/84'/0'/0']${zpub}/<0;1>/*) label:savings gap:2`);
    expect(tracked).toContain('Now tracking a wallet\n');
    expect(tracked).toContain('  savings — wallet wpkh(xpub6Cat…PW6V)\n');
    expect(tracked).toContain('  Addresses: 5 scanned, 1 used · gap 2\n');
    expect(tracked).toMatch(/ {2}Checksum #[a-z0-9]{8} — keep it with the descriptor\n/);
    expect(await type(shell, '/balance savings')).toMatch(/^savings\n {2}wallet wpkh\(xpub6Cat…PW6V\)\n {2}0\.00007000 BTC\n/);
    expect(await type(shell, '/addresses')).toContain('savings — wallet wpkh(xpub6Cat…PW6V)');
  });

  it('exits cleanly on exit, having logged no error', async () => {
    shell.send('exit');
    expect(await shell.exited).toBe(0);
    expect(shell.stderr()).not.toMatch(/"level":(50|60)/);
  });

  it('exits cleanly at the end of its input', async () => {
    const piped = start(api);
    piped.send('/addresses');
    piped.child.stdin!.end();
    expect(await piped.exited).toBe(0);
    expect(piped.stdout()).toContain('satbell> /addresses\nTracked addresses\n  No address is tracked in this server yet. Add one with /track.\n');
  });

  it('cannot open an embedded database another process holds, and says so', async () => {
    const path = join(tempDir(), 'db');
    const env = { DATABASE_URL: `file:${path}` };
    const first = start(api, env);
    await expect.poll(() => first.stdout(), { timeout: 20_000 }).toContain('satbell shell');
    // Its logs go beside its database.
    expect(first.stdout()).toContain(`logs go to ${path}.log;`);
    const second = start(api, env);
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toMatch(/is in use by another satbell process \(pid \d+\)[\s\S]*DATABASE_URL=memory: npm run shell/);
    first.child.stdin!.end();
    expect(await first.exited).toBe(0);
  });
});

describe('npm run shell at a paced service', () => {
  it('says which service a command waits for, and for about how long, before its answer', async () => {
    const api = await startBlockchainInfoFake();
    cleanups.push(() => api.close());
    const [first, second] = [testAddress('shell-paced-1'), testAddress('shell-paced-2')];
    api.chain.fund(first, 1_000n);
    api.chain.fund(second, 2_000n);
    // One request every 2.5 s: the second look-up, typed right after the first, waits its turn.
    const shell = start(api, { BLOCKCHAIN_INFO_RPS: '0.4' });
    await expect.poll(() => shell.stdout(), { timeout: 20_000 }).toContain('\n'); // the greeting
    expect(await type(shell, `/balance ${first}`)).toContain('0.00001000 BTC');
    const waited = await type(shell, `/balance ${second}`);
    expect(waited).toMatch(/^… Waiting for blockchain\.info, about [1-3] s/m);
    expect(waited).toContain('0.00002000 BTC');
    expect(waited.indexOf('Waiting for')).toBeLessThan(waited.indexOf('0.00002000 BTC'));
  });
});
