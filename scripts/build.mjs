/**
 * `npm run build` (and the first half of `npm start`): src/**\/*.ts transpiled to dist/, one file at
 * a time, for `node dist/main.js`. `--out DIR` writes elsewhere (the test suite builds once per run
 * into a directory of its own, test/support/global-setup.ts); DIR's parent must hold the project's
 * `drizzle/`, `node_modules/` and `package.json`, as the project root does for dist/. No type
 * check here: `npm run typecheck` does that. The compiler options are tsconfig.json's; with
 * `isolatedModules` each file's output is what tsc would emit.
 *
 * Why not run src/ through tsx: its loader runs in a thread of its own, a second V8 heap that costs
 * the running bot about 70 MB. Why not tsc itself: it peaks near 450 MB, more than the bot.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import ts from 'typescript';

const { values: flags } = parseArgs({ options: { quiet: { type: 'boolean' }, out: { type: 'string' } }, strict: true });
const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');
const out = flags.out ? resolve(flags.out) : join(root, 'dist');

const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail(d) });
if (!config) process.exit(1);
const compilerOptions = { ...config.options, noEmit: false, sourceMap: true, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };

function fail(diagnostic) {
  console.error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });
let count = 0;
for (const file of readdirSync(src, { recursive: true })) {
  if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
  const from = join(src, file);
  const to = join(out, file.replace(/\.ts$/, '.js'));
  const { outputText, sourceMapText, diagnostics } = ts.transpileModule(readFileSync(from, 'utf8'), {
    // Source maps point at src/, so that stack traces name the TypeScript lines.
    compilerOptions: { ...compilerOptions, sourceRoot: relative(dirname(to), dirname(from)) },
    fileName: from,
    reportDiagnostics: true,
  });
  if (diagnostics?.length) for (const d of diagnostics) fail(d);
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, outputText);
  writeFileSync(`${to}.map`, sourceMapText);
  count += 1;
}
if (!flags.quiet) console.error(`built ${count} files into ${relative(process.cwd(), out) || '.'}/`);
