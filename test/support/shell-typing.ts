import { expect } from 'vitest';
import type { ShellProcess } from './process.js';

let marks = 0;

/**
 * Type `line` into a shell and return what it printed for it. Lines run one after another, and
 * piped input is echoed after the prompt: the echo of a comment typed next marks the end of the reply.
 */
export async function type(shell: ShellProcess, line: string, { timeout = 20_000 } = {}): Promise<string> {
  const from = shell.stdout().length;
  const end = `satbell> # end of reply ${++marks}\n`;
  shell.send(line);
  shell.send(end.slice('satbell> '.length, -1));
  await expect
    .poll(() => (shell.child.exitCode !== null ? `exited: ${shell.output()}` : shell.stdout().includes(end, from)), { timeout })
    .toBe(true);
  const text = shell.stdout().slice(from, shell.stdout().indexOf(end, from));
  expect(text.startsWith(`satbell> ${line}\n`)).toBe(true);
  return text.slice(`satbell> ${line}\n`.length);
}
