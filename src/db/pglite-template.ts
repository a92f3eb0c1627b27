/**
 * A new PGlite database made from a committed template instead of by initdb.
 *
 * PGlite runs initdb in a second Postgres instance beside the one being opened, and before each of
 * initdb's backend runs it restores a full copy of that instance's 128 MB heap: creating a database
 * takes the process to 550–900 MB, where opening one takes about 130 MB. The template is what
 * initdb makes (`npm run db:template`), stored as PGlite's own tar dump: a new `file:` directory is
 * unpacked from it on disk, and `memory:` loads it as PGlite's `loadDataDir`. It is only used when
 * the installed PGlite made it; otherwise PGlite's initdb runs as before.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const folder = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle');
export const TEMPLATE_PATH = join(folder, 'pglite-template.tar.gz');
export const TEMPLATE_MANIFEST_PATH = join(folder, 'pglite-template.json');

export interface TemplateManifest {
  /** the @electric-sql/pglite version that made it: its data files fit that version's Postgres */
  pglite: string;
  /** `select version()` of the instance that made it, for people */
  postgres: string;
}

/** The installed @electric-sql/pglite's version (its package.json is not among its exports). */
export function installedPgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const pkg = JSON.parse(readFileSync(resolve(dirname(entry), '../package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Whether the committed template exists and was made by the installed PGlite. */
export function templateFits(): boolean {
  if (!existsSync(TEMPLATE_PATH) || !existsSync(TEMPLATE_MANIFEST_PATH)) return false;
  const manifest = JSON.parse(readFileSync(TEMPLATE_MANIFEST_PATH, 'utf8')) as TemplateManifest;
  return manifest.pglite === installedPgliteVersion();
}

/** The template as PGlite's `loadDataDir`, for a database in memory. */
export function templateBlob(): Blob {
  return new Blob([readFileSync(TEMPLATE_PATH)]);
}

/**
 * Unpack the template into `dataDir`, which must not exist yet or be empty. It is unpacked beside
 * it and renamed into place, so a process killed halfway leaves no half-made database behind.
 */
export function unpackTemplate(dataDir: string): void {
  if (existsSync(dataDir)) rmdirSync(dataDir); // empty: the caller checked
  // The caller holds the directory's lock: a staging directory beside it is a killed process's.
  const parent = dirname(dataDir);
  for (const left of readdirSync(parent).filter((name) => name.startsWith(`${basename(dataDir)}.new-`))) {
    rmSync(join(parent, left), { recursive: true, force: true });
  }
  const staging = `${dataDir}.new-${process.pid}`;
  try {
    extractTar(gunzipSync(readFileSync(TEMPLATE_PATH)), staging);
    renameSync(staging, dataDir);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

/** Whether `dataDir` is a directory PGlite would run initdb in: absent, or empty. */
export function isNewDataDir(dataDir: string): boolean {
  return !existsSync(dataDir) || readdirSync(dataDir).length === 0;
}

/**
 * Extract a ustar archive (what PGlite's dumpDataDir writes: regular files and directories, names
 * rooted at `/`) into `into`. Anything else in it is refused rather than guessed at.
 */
function extractTar(archive: Buffer, into: string): void {
  mkdirSync(into, { recursive: true, mode: 0o700 });
  const root = resolve(into);
  for (let at = 0; at + 512 <= archive.length; ) {
    const header = archive.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break; // the end-of-archive blocks
    const field = (start: number, length: number) => header.toString('utf8', start, start + length).replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(0, 100);
    const mode = parseInt(field(100, 8), 8) & 0o777;
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    const target = resolve(root, `.${sep}${name.replace(/^\/+/, '')}`);
    if (target !== root && !target.startsWith(root + sep)) throw new Error(`template entry escapes its directory: ${name}`);
    at += 512;
    if (type === '5') mkdirSync(target, { recursive: true, mode: mode || 0o700 });
    else if (type === '0') {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(target, archive.subarray(at, at + size), { mode: mode || 0o600 });
    } else throw new Error(`template entry ${name} is of tar type ${type}, which the template never holds`);
    at += Math.ceil(size / 512) * 512;
  }
}
