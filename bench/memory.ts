/**
 * `npm run bench:memory`: the memory of the real bot, as a person runs it, on each kind of database.
 *
 * Each case starts the real entry point (`npm start`, `node dist/main.js`, or node with tsx as the
 * tests ran it until they ran it built, as npm start does) against the loopback fakes of Discord and Blockchain.com, and samples the RSS of the
 * whole process tree (VmRSS of the process and all its descendants, from /proc) every 25 ms: its
 * peak from spawn until the first sync is done, and its idle level a few seconds later. Markdown
 * goes to stdout, progress to stderr.
 *
 *   --trials 3          BENCH_TRIALS     runs of each case; the table shows the range
 *   --addresses 1000    BENCH_ADDRESSES  tracked addresses in the reopened and Postgres cases
 *   --root DIR          BENCH_ROOT       the checkout whose entry point runs (another one to compare)
 *   --postgres URL      BENCH_POSTGRES   a server to make a database on; `none` skips those cases
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { openDatabase } from '../src/db/client.js';
import { startFakeDiscord } from '../test/fakes/discord.js';
import { testAddress } from '../test/support/addresses.js';
import { IndexedFakeChain, startFakes } from './chain.js';
import { seedDatabase, seedFromChain } from './seed.js';

type Launch = 'npm start' | 'node dist/main.js' | 'node --import tsx';
type Kind = 'embedded, new directory' | 'embedded, reopened' | 'memory:' | 'Postgres server';

interface Case {
  kind: Kind;
  launch: Launch;
  addresses: number;
  /** DATABASE_URL, made fresh for each trial */
  url: () => Promise<string>;
}

interface Sample {
  /** kB */
  total: number;
  /** each process's RSS in MB, e.g. `npm 53 + sh 2 + node 190` */
  parts: string;
}

interface Trial {
  peakMb: number;
  idleMb: number;
  /** the node process running the bot: its own high-water mark (VmHWM), exact where sampling is not */
  nodePeakMb: number;
  nodeIdleMb: number;
  parts: string;
  readyMs: number;
}

function option(name: string, env: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1]! : (process.env[env] ?? fallback);
}

const trials = Number(option('trials', 'BENCH_TRIALS', '1'));
const size = Number(option('addresses', 'BENCH_ADDRESSES', '1000'));
const root = resolve(option('root', 'BENCH_ROOT', resolve(import.meta.dirname, '..')));
const server = option('postgres', 'BENCH_POSTGRES', 'postgres://postgres@127.0.0.1:5432/postgres');
const log = (line: string) => process.stderr.write(`${line}\n`);

/** VmRSS and VmHWM of a process, in kB; undefined once it is gone. */
function status(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

function describe(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const name = argv[0]!.split('/').pop()!;
    if (name.startsWith('npm') || argv.some((a) => a.endsWith('/npm-cli.js') || a.endsWith('/bin/npm'))) return 'npm';
    if (argv.some((a) => a.includes('tsx/dist/cli'))) return 'tsx wrapper';
    if (argv.some((a) => a.endsWith('scripts/build.mjs'))) return 'build step';
    if (name === 'esbuild' || argv.some((a) => a.endsWith('/esbuild'))) return 'esbuild';
    return name === 'sh' || name === 'bash' ? 'sh' : name;
  } catch {
    return '?';
  }
}

/** `pid` and all its descendants. */
function tree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const all: number[] = [];
  for (const queue = [pid]; queue.length > 0; ) {
    const next = queue.shift()!;
    all.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return all;
}

function sample(pid: number): Sample {
  let total = 0;
  const parts: string[] = [];
  for (const p of tree(pid)) {
    const s = status(p);
    if (!s) continue;
    total += s.rss;
    parts.push(`${describe(p)} ${Math.round(s.rss / 1024)}`);
  }
  return { total, parts: parts.join(' + ') };
}

function launch(how: Launch, env: Record<string, string>): ChildProcess {
  const base = { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env }, detached: true };
  const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
  if (how === 'npm start') return spawn('npm', ['start', '--silent'], { ...base, stdio });
  if (how === 'node dist/main.js') return spawn(process.execPath, ['--liftoff-only', 'dist/main.js'], { ...base, stdio });
  const tsx = pathToFileURL(resolve(root, 'node_modules/tsx/dist/loader.mjs')).href;
  return spawn(process.execPath, ['--import', tsx, 'src/main.ts'], { ...base, stdio });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runOnce(how: Launch, env: Record<string, string>): Promise<Trial> {
  const started = Date.now();
  const child = launch(how, env);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  let peak: Sample = sample(child.pid!);
  let nodePid = 0;
  let nodePeakKb = 0;
  const watch = () => {
    const now = sample(child.pid!);
    if (now.total > peak.total) peak = now;
    // The bot's node process (not npm, nor the build step before it): its VmHWM is its exact peak.
    for (const p of tree(child.pid!)) {
      const s = status(p);
      if (s && describe(p) === 'node' && s.hwm > nodePeakKb) (nodePeakKb = s.hwm), (nodePid = p);
    }
  };
  const timer = setInterval(watch, 25);
  try {
    for (const deadline = Date.now() + 180_000; !output.includes('job finished'); await sleep(25)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the bot did not finish its first sync:\n${output}`);
    }
    const readyMs = Date.now() - started;
    await sleep(5_000);
    const idle: Sample[] = [];
    for (let i = 0; i < 10; i++, await sleep(500)) idle.push(sample(child.pid!));
    idle.sort((a, b) => a.total - b.total);
    const median = idle[5]!;
    watch();
    return {
      peakMb: peak.total / 1024,
      idleMb: median.total / 1024,
      nodePeakMb: nodePeakKb / 1024,
      nodeIdleMb: (status(nodePid)?.rss ?? 0) / 1024,
      parts: median.parts,
      readyMs,
    };
  } finally {
    clearInterval(timer);
    process.kill(-child.pid!, 'SIGTERM');
    await new Promise((done) => (child.exitCode !== null ? done(null) : child.once('exit', done)));
  }
}

async function main() {
  const chain = new IndexedFakeChain();
  const list = Array.from({ length: size }, (_, i) => testAddress(`memory-${i}`));
  for (let round = 0; round < 2; round++) {
    list.forEach((address, i) => chain.fund(address, 10_000 + i + round));
    chain.mine();
  }
  const seed = seedFromChain(chain, list);
  const fakes = await startFakes(chain, { latencyMs: 0, rps: Infinity, esplora: false });
  const discord = await startFakeDiscord();
  const guildId = discord.guilds[0]!.id;
  const work = mkdtempSync(join(tmpdir(), 'satbell-memory-'));
  const dropAfter: (() => Promise<void>)[] = [];
  const env = (url: string) => ({
    DISCORD_TOKEN: 'memory-bench-token',
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_GUILD_ID: guildId,
    BLOCKCHAIN_INFO_URL: fakes.blockchainInfo.url,
    CHAIN_PROVIDERS: 'blockchain-info',
    BLOCKCHAIN_INFO_RPS: 'unlimited',
    LOG_LEVEL: 'info',
    DATABASE_URL: url,
  });
  let dirs = 0;
  const newDir = async () => `file:${join(work, `new-${dirs++}`)}`;
  /** a directory with `size` tracked addresses, made once and reopened by every trial */
  let seeded: string | undefined;
  const seededDir = async () => {
    if (!seeded) {
      seeded = `file:${join(work, 'seeded')}`;
      const handle = await openDatabase(seeded);
      await seedDatabase(handle.db, seed, guildId);
      await handle.close();
    }
    return seeded;
  };
  let pgUrl: string | undefined;
  const postgresDb = async () => {
    if (!pgUrl) {
      const name = `satbell_memory_${Date.now().toString(36)}`;
      const admin = postgres(server, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database "${name}"`);
      await admin.end();
      dropAfter.push(async () => {
        const again = postgres(server, { max: 1, onnotice: () => {} });
        await again.unsafe(`drop database if exists "${name}" with (force)`);
        await again.end();
      });
      const url = new URL(server);
      url.pathname = `/${name}`;
      pgUrl = url.toString();
      const handle = await openDatabase(pgUrl);
      await seedDatabase(handle.db, seed, guildId);
      await handle.close();
    }
    return pgUrl;
  };

  const built = existsSync(join(root, 'dist/main.js'));
  const cases: Case[] = [
    { kind: 'embedded, new directory', launch: 'npm start', addresses: 0, url: newDir },
    { kind: 'embedded, reopened', launch: 'npm start', addresses: size, url: seededDir },
    ...(built ? [{ kind: 'embedded, new directory', launch: 'node dist/main.js', addresses: 0, url: newDir } as const] : []),
    ...(built ? [{ kind: 'embedded, reopened', launch: 'node dist/main.js', addresses: size, url: seededDir } as const] : []),
    { kind: 'memory:', launch: 'node --import tsx', addresses: 0, url: async () => 'memory:' },
    ...(built ? [{ kind: 'memory:', launch: 'node dist/main.js', addresses: 0, url: async () => 'memory:' } as const] : []),
    ...(server === 'none'
      ? []
      : ([
          { kind: 'Postgres server', launch: 'npm start', addresses: size, url: postgresDb },
          ...(built ? [{ kind: 'Postgres server', launch: 'node dist/main.js', addresses: size, url: postgresDb } as const] : []),
        ] as Case[])),
  ];
  if (!built) log(`no ${join(root, 'dist/main.js')}: run npm run build first to measure node dist/main.js too`);

  const rows: string[] = [];
  try {
    for (const c of cases) {
      const results: Trial[] = [];
      for (let t = 0; t < trials; t++) {
        const trial = await runOnce(c.launch, env(await c.url()));
        log(
          `${c.kind} · ${c.launch} · ${c.addresses} addresses, trial ${t + 1}: peak ${trial.peakMb.toFixed(0)} MB, idle ${trial.idleMb.toFixed(0)} MB ` +
            `(${trial.parts}), node peak ${trial.nodePeakMb.toFixed(0)} MB, first sync done after ${(trial.readyMs / 1000).toFixed(1)} s`,
        );
        results.push(trial);
      }
      const range = (pick: (t: Trial) => number) => {
        const values = results.map(pick);
        const [lo, hi] = [Math.min(...values), Math.max(...values)].map((v) => Math.round(v));
        return lo === hi ? `${lo} MB` : `${lo}–${hi} MB`;
      };
      rows.push(
        `| ${c.kind} | \`${c.launch}\` | ${c.addresses.toLocaleString('en-US')} | ${range((t) => t.peakMb)} | ${range((t) => t.idleMb)} | ` +
          `${range((t) => t.nodePeakMb)} | ${range((t) => t.nodeIdleMb)} | ${results.at(-1)!.parts} |`,
      );
    }
  } finally {
    for (const drop of dropAfter) await drop().catch((err: unknown) => log(`could not drop the bench database: ${String(err)}`));
    await discord.close();
    await fakes.blockchainInfo.close();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`Node ${process.version}, ${trials} trial(s) each, ${root}\n`);
  console.log('| database | started with | addresses | peak, whole tree | idle, whole tree | peak, bot process | idle, bot process | idle, by process (MB) |');
  console.log('|---|---|---:|---:|---:|---:|---:|---|');
  for (const row of rows) console.log(row);
}

await main();
