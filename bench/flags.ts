import { parseArgs } from 'node:util';

/**
 * A bench's `--name value` / `--name=value` options, each a string, with an unknown name refused:
 * Node's own parseArgs, so the benches do not each carry a parser. `--help` prints the names (and
 * `usage`, when given) and exits.
 */
export function readFlags(argv: string[], known: readonly string[], usage?: string): Map<string, string> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage ?? `Options: ${known.map((name) => `--${name} <value>`).join(' ')}`}\nSee docs/benchmarks.md for what each measures.\n`);
    process.exit(0);
  }
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(known.map((name) => [name, { type: 'string' as const }])),
    strict: true,
    allowPositionals: false,
  });
  return new Map(Object.entries(values).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
