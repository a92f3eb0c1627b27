import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '../..');
const tsx = pathToFileURL(resolve(root, 'node_modules/tsx/dist/loader.mjs')).href;

export interface BotProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Run src/main.ts as `npm start` does, in `cwd`, with only the given environment (and PATH). */
export function spawnBot(env: Record<string, string>, cwd: string): BotProcess {
  const child = spawn(process.execPath, ['--import', tsx, resolve(root, 'src/main.ts')], {
    cwd,
    // Only the fake provider, unpaced, unless a test says otherwise.
    env: { PATH: process.env.PATH ?? '', CHAIN_PROVIDERS: 'blockchain-info', BLOCKCHAIN_INFO_RPS: 'unlimited', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, output: () => output, exited };
}
