import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';

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

/**
 * Run `entry` (a file of src/, built) as `npm start` runs the bot: `node --liftoff-only
 * --enable-source-maps dist/main.js`, on the run's build of src/ (test/support/global-setup.ts), in
 * `cwd`, with only the given environment (and PATH). The shell and deploy-commands run the same
 * way, though their npm scripts use tsx: tsx's loader thread and V8's optimising recompile of
 * PGlite's WebAssembly more than doubled the CPU each process took to start (3.0 s against 1.35 s
 * to ready), and the code is the same. test/e2e/start.test.ts runs `npm start` itself.
 */
function spawnEntry(entry: string, env: Record<string, string>, cwd: string, stdin: 'ignore' | 'pipe', as: RunAs = {}) {
  const built = join(inject('builtSrc'), entry.replace(/^src\//, '').replace(/\.ts$/, '.js'));
  const child = spawn(process.execPath, ['--liftoff-only', '--enable-source-maps', built], {
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

/** Run src/shell/main.ts, as `npm run shell` does but built (see spawnEntry), with commands typed through a pipe. */
export function spawnShell(env: Record<string, string>, cwd: string, as?: RunAs): ShellProcess {
  const shell = spawnEntry('src/shell/main.ts', env, cwd, 'pipe', as);
  return { ...shell, send: (line) => void shell.child.stdin!.write(`${line}\n`) };
}

/** Run src/deploy-commands.ts, as `npm run deploy-commands` does but built (see spawnEntry). */
export function spawnDeployCommands(env: Record<string, string>, cwd: string): BotProcess {
  const { child, output, stdout, stderr, exited } = spawnEntry('src/deploy-commands.ts', env, cwd, 'ignore');
  return { child, output, stdout, stderr, exited };
}
