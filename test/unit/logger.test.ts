import { Writable } from 'node:stream';
import { DiscordAPIError } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { configuredSecrets, createLogger, createScrubber } from '../../src/logger.js';

const BOT_TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GAbCdE.abcdefghijklmnopqrstuvwxyz0123456789AB';
const INTERACTION_TOKEN = `aW50ZXJhY3Rpb246${'x1Y2'.repeat(40)}`;
const PASSWORD = 's3cretPassw0rd';

/** A logger at trace whose lines land in an array, as the bot's would on stdout. */
function capture(secrets: string[]) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger('trace', { destination: destination as unknown as NodeJS.WritableStream & { write(s: string): boolean }, secrets });
  return { logger, text: () => lines.join('') };
}

describe('the log scrubber', () => {
  const scrub = createScrubber([BOT_TOKEN, PASSWORD]);

  it('removes an interaction token from callback and webhook URLs, whatever its shape', () => {
    const text = scrub(
      'POST /api/v10/interactions/1234567890/opaque-token.value_1/callback failed; ' +
        'PATCH https://discord.com/api/v10/webhooks/99/another_token/messages/@original failed',
    );
    expect(text).not.toMatch(/opaque-token|another_token/);
    expect(text).toContain('/interactions/1234567890/[redacted]/callback');
    expect(text).toContain('/webhooks/99/[redacted]/messages/@original');
  });

  it('removes an interaction token standing on its own', () => {
    expect(scrub(`token was ${INTERACTION_TOKEN}.`)).toBe('token was [redacted].');
  });

  it('removes the configured secrets as written, JSON-escaped and URL-encoded', () => {
    const odd = createScrubber(['pa"ss/wörd']);
    expect(odd(JSON.stringify({ msg: 'pa"ss/wörd' }))).toBe('{"msg":"[redacted]"}');
    expect(odd(`x=${encodeURIComponent('pa"ss/wörd')}`)).toBe('x=[redacted]');
    expect(scrub(`Authorization: Bot ${BOT_TOKEN}`)).toBe('Authorization: Bot [redacted]');
  });

  it('removes anything shaped like a bot token, even one not configured', () => {
    expect(createScrubber([])(`Bot ${BOT_TOKEN}`)).toBe('Bot [redacted]');
  });

  it('removes the password of a Postgres URL, and of any URL, without a configured value', () => {
    const none = createScrubber([]);
    expect(none('connecting to postgres://satbell:hunter22@db.internal:5432/satbell')).toBe('connecting to postgres://satbell:***@db.internal:5432/satbell');
    expect(none('"input":"postgres://satbell:hunter22@127.0.0.1:99999/satbell"')).not.toContain('hunter22');
    expect(none('amqp://user:hunter22@broker/')).toBe('amqp://user:***@broker/');
  });

  it('removes a token or password field at any depth of a JSON line', () => {
    const line = JSON.stringify({ a: { b: { token: 'short', password: 'pw' } } });
    expect(createScrubber([])(line)).toBe('{"a":{"b":{"token":"[redacted]","password":"[redacted]"}}}');
  });

  it("shortens a wallet's extended public key and removes private keys, wherever they appear", () => {
    const zpub = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
    const xprv = 'xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi';
    const wif = 'KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn';
    const line = JSON.stringify({ err: { message: `Failed query: insert into "wallets" params: 1,wpkh([d34db33f/84'/0'/0']${zpub}/<0;1>/*)#abcdefgh` }, pasted: `${xprv} and ${wif}` });
    const out = createScrubber([])(line);
    expect(out).not.toContain(zpub);
    expect(out).toContain('zpub6rFR…tZYs');
    expect(out).not.toContain(xprv.slice(4, 40));
    expect(out).not.toContain(wif);
    expect(JSON.parse(out).pasted).toBe('[redacted] and [redacted]');
  });

  it('leaves ordinary text, txids and addresses alone', () => {
    const text = 'notice posted {"txid":"b85f8c0f154c9c768573c1ae604c4d42194cf04504830cabcd22d34e3321e159","address":"bc1q8nl2p6t3spj9kp002aqnkrynmj04wtq805xjap"}';
    expect(scrub(text)).toBe(text);
  });
});

describe('configured secrets', () => {
  it('are the bot token and the password of a Postgres DATABASE_URL, even one that does not parse', () => {
    expect(configuredSecrets({ DISCORD_TOKEN: BOT_TOKEN, DATABASE_URL: `postgres://satbell:${PASSWORD}@127.0.0.1:99999/satbell` })).toEqual([
      BOT_TOKEN,
      PASSWORD,
      PASSWORD,
    ]);
    expect(configuredSecrets({ DATABASE_URL: 'postgres://satbell:p%40ss@host/db' })).toEqual(['p%40ss', 'p@ss']);
    expect(configuredSecrets({ DATABASE_URL: 'postgres://satbell@host/db?password=qwerty1' })).toEqual(['qwerty1', 'qwerty1']);
    expect(configuredSecrets({ DATABASE_URL: 'file:./data/satbell' })).toEqual([]);
  });
});

describe('the logger', () => {
  it('prints no secret from a Discord error, its nested cause, or its stack', () => {
    const { logger, text } = capture([BOT_TOKEN, PASSWORD]);
    const discordError = new DiscordAPIError(
      { code: 10062, message: 'Unknown interaction' },
      10062,
      404,
      'POST',
      `https://discord.com/api/v10/interactions/1234/${INTERACTION_TOKEN}/callback`,
      { body: { type: 5 } },
    );
    const wrapped = new Error(`delivery failed for postgres://satbell:${PASSWORD}@db/satbell`, { cause: discordError });

    logger.error({ err: discordError }, 'command failed');
    logger.error({ err: wrapped, config: { DISCORD_TOKEN: BOT_TOKEN }, headers: { authorization: `Bot ${BOT_TOKEN}` } }, `token ${BOT_TOKEN}`);

    const out = text();
    expect(out).toContain('caused by: DiscordAPIError[10062]: Unknown interaction');
    expect(out).toContain('postgres://satbell:***@db/satbell');
    expect(out).toContain('/interactions/1234/[redacted]/callback');
    for (const secret of [BOT_TOKEN, INTERACTION_TOKEN, PASSWORD]) expect(out).not.toContain(secret);
  });
});
