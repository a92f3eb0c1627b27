import { clearLine, createInterface, cursorTo } from 'node:readline';
import type { Command } from '../discord/command.js';
import { completer } from './complete.js';

const PROMPT = 'satbell> ';

/**
 * The prompt: typed lines in, text out. At a terminal, text that arrives while you type (a
 * notice) prints above your line and leaves it as it was. Piped in, each line is echoed after the
 * prompt so that the output reads like a session.
 */
export function createTerminal({
  input,
  output,
  commands,
}: {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
  commands: readonly Command[];
}) {
  const rl = createInterface({
    input,
    output,
    prompt: PROMPT,
    terminal: Boolean(input.isTTY && output.isTTY),
    completer: (line: string) => completer(line, commands),
  });
  // Listen at once: lines piped in while the shell still starts would otherwise be lost.
  const typed = rl[Symbol.asyncIterator]();
  const interactive = rl.terminal;
  let atPrompt = false;

  return {
    print(text: string): void {
      if (!atPrompt) {
        output.write(`${text}\n`);
        return;
      }
      clearLine(output, 0);
      cursorTo(output, 0);
      output.write(`${text}\n`);
      rl.prompt(true);
    },

    /** Each line typed, after a prompt for it; ends with the input (Ctrl-D) or close(). */
    async *lines(): AsyncGenerator<string> {
      for (;;) {
        if (interactive) {
          atPrompt = true;
          rl.prompt();
        }
        const next = await typed.next();
        const prompted = atPrompt;
        atPrompt = false;
        if (next.done) {
          // Ctrl-D: leave the prompt of the shell you return to on a line of its own.
          if (prompted) output.write('\n');
          return;
        }
        if (!interactive && next.value.trim()) output.write(`${PROMPT}${next.value}\n`);
        yield next.value;
      }
    },

    /** Ctrl-C at the prompt: readline takes it from the terminal before any signal is raised. */
    onInterrupt(handler: () => void): void {
      rl.on('SIGINT', handler);
    },

    close(): void {
      // Ctrl-C, as Ctrl-D above.
      if (atPrompt) output.write('\n');
      atPrompt = false;
      rl.close();
    },
  };
}
