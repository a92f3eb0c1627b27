/**
 * `npm run db:template`: make drizzle/pglite-template.tar.gz, the empty database a new embedded
 * PGlite database is made from (see pglite-template.ts). Run it after upgrading @electric-sql/pglite
 * and commit both files; until then new databases are made by PGlite's initdb, which works but
 * needs several times the memory.
 */
import { writeFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { installedPgliteVersion, TEMPLATE_MANIFEST_PATH, TEMPLATE_PATH, type TemplateManifest } from './pglite-template.js';

// PGlite's own initdb, with its own settings: the template is exactly what it would have made.
const pg = new PGlite();
await pg.waitReady;
const { rows } = await pg.query<{ version: string }>('select version()');
// Everything on disk, so that the dump needs no WAL replay when it is opened.
await pg.exec('checkpoint');
const dump = await pg.dumpDataDir('gzip');
await pg.close();
writeFileSync(TEMPLATE_PATH, Buffer.from(await dump.arrayBuffer()));
const manifest: TemplateManifest = { pglite: installedPgliteVersion(), postgres: rows[0]!.version };
writeFileSync(TEMPLATE_MANIFEST_PATH, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`wrote ${TEMPLATE_PATH} (${dump.size} bytes) for PGlite ${manifest.pglite}`);
