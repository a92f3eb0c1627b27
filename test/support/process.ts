import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '../..');
const tsx = pathToFileURL(resolve(root, 'node_modules/tsx/dist/loader.mjs')).href;

export interface BotProcess {
  child: ChildProcess;
  /** stdout and stderr, as they came */
  output(): string;
  /** stdout alone (for the shell: what the person at the prompt reads) */
  stdout(): string;
  stderr(): string;
  /** the exit code, once the process has exited and its output has all been read */
  exited: Promise<number | null>;
}

export interface ShellProcess extends BotProcess {
  /** type a line */
  send(line: string): void;
}

/** Whom to run as: tests run as root, whom file permissions do not stop. */
export interface RunAs {
  uid?: number;
  gid?: number;
}

/** Run `entry` as npm's scripts do (tsx), in `cwd`, with only the given environment (and PATH). */
function spawnEntry(entry: string, env: Record<string, string>, cwd: string, stdin: 'ignore' | 'pipe', as: RunAs = {}) {
  const child = spawn(process.execPath, ['--import', tsx, resolve(root, entry)], {
    cwd,
    ...as,
    // Only the fake provider, unpaced, unless a test says otherwise.
    env: { PATH: process.env.PATH ?? '', CHAIN_PROVIDERS: 'blockchain-info', BLOCKCHAIN_INFO_RPS: 'unlimited', ...env },
    stdio: [stdin, 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => ((output += d), (stdout += d)));
  child.stderr!.on('data', (d) => ((output += d), (stderr += d)));
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  return { child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Run src/main.ts as `npm start` does. */
export function spawnBot(env: Record<string, string>, cwd: string, as?: RunAs): BotProcess {
  const { child, output, stdout, stderr, exited } = spawnEntry('src/main.ts', env, cwd, 'ignore', as);
  return { child, output, stdout, stderr, exited };
}

/** Run src/shell/main.ts as `npm run shell` does, with commands typed through a pipe. */
export function spawnShell(env: Record<string, string>, cwd: string, as?: RunAs): ShellProcess {
  const shell = spawnEntry('src/shell/main.ts', env, cwd, 'pipe', as);
  return { ...shell, send: (line) => void shell.child.stdin!.write(`${line}\n`) };
}

/** Run src/deploy-commands.ts as `npm run deploy-commands` does. */
export function spawnDeployCommands(env: Record<string, string>, cwd: string): BotProcess {
  const { child, output, stdout, stderr, exited } = spawnEntry('src/deploy-commands.ts', env, cwd, 'ignore');
  return { child, output, stdout, stderr, exited };
}
