import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';

describe('loadConfig', () => {
  it('fills every default from a token alone', () => {
    const config = loadConfig({ DISCORD_TOKEN: 'abc' });
    expect(config).toMatchObject({
      DISCORD_TOKEN: 'abc',
      DATABASE_URL: 'file:./data/satbell',
      BLOCKCHAIN_INFO_URL: 'https://blockchain.info',
      LOG_LEVEL: 'info',
      SYNC_CRON: '*/5 * * * *',
      EXPLORER_URL: 'https://mempool.space',
    });
    expect(config.DISCORD_API_URL).toBeUndefined();
    expect(config.DISCORD_GUILD_ID).toBeUndefined();
  });

  it('explains how to get a token when DISCORD_TOKEN is missing or blank', () => {
    for (const env of [{}, { DISCORD_TOKEN: '  ' }]) {
      expect(() => loadConfig(env)).toThrowError(/DISCORD_TOKEN is not set: create an application/);
    }
  });

  it('runs without a token for the terminal shell, still checking every other variable', () => {
    expect(loadConfig({}, { requireToken: false })).toMatchObject({ DATABASE_URL: 'file:./data/satbell', LOG_LEVEL: 'info' });
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' }, { requireToken: false })).toThrowError(
      /^Invalid configuration: DATABASE_URL must start with postgres:\/\/[^;]*$/,
    );
  });

  it("takes a front end's own defaults for what the environment leaves unset or blank", () => {
    const defaults = { LOG_LEVEL: 'warn' };
    expect(loadConfig({ LOG_LEVEL: '' }, { requireToken: false, defaults }).LOG_LEVEL).toBe('warn');
    expect(loadConfig({ LOG_LEVEL: 'debug' }, { requireToken: false, defaults }).LOG_LEVEL).toBe('debug');
  });

  it('names each bad variable in one message', () => {
    let error: unknown;
    try {
      loadConfig({ DISCORD_TOKEN: 'x', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', DISCORD_GUILD_ID: 'abc' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/DATABASE_URL must start with postgres:\/\//);
    expect(message).toMatch(/LOG_LEVEL/);
    expect(message).toMatch(/DISCORD_GUILD_ID must be a server \(guild\) id/);
  });

  it('takes LOG_FORMAT json or pretty, leaves it unset for the terminal to decide, and refuses anything else', () => {
    expect(loadConfig({ DISCORD_TOKEN: 't' }).LOG_FORMAT).toBeUndefined();
    expect(loadConfig({ DISCORD_TOKEN: 't', LOG_FORMAT: 'json' }).LOG_FORMAT).toBe('json');
    expect(loadConfig({ DISCORD_TOKEN: 't', LOG_FORMAT: 'pretty' }).LOG_FORMAT).toBe('pretty');
    expect(() => loadConfig({ DISCORD_TOKEN: 't', LOG_FORMAT: 'text' })).toThrowError(/^Invalid configuration: LOG_FORMAT must be json or pretty/);
  });

  it('accepts a six-field SYNC_CRON with seconds and refuses nonsense', () => {
    expect(loadConfig({ DISCORD_TOKEN: 't', SYNC_CRON: '*/10 * * * * *' }).SYNC_CRON).toBe('*/10 * * * * *');
    expect(() => loadConfig({ DISCORD_TOKEN: 't', SYNC_CRON: 'every minute' })).toThrowError(/SYNC_CRON must be a cron expression/);
  });

  it('picks providers and Esplora URL by network, fewest calls first on mainnet', () => {
    expect(loadConfig({ DISCORD_TOKEN: 't' })).toMatchObject({
      NETWORK: 'mainnet',
      CHAIN_PROVIDERS: ['blockchain-info', 'esplora'],
      ESPLORA_URL: 'https://mempool.space/api',
      BLOCKCHAIN_INFO_RPS: 0.1,
      ESPLORA_RPS: 4,
    });
    expect(loadConfig({ DISCORD_TOKEN: 't', NETWORK: 'signet' })).toMatchObject({
      CHAIN_PROVIDERS: ['esplora'],
      ESPLORA_URL: 'https://mempool.space/signet/api',
    });
  });

  it('reads CHAIN_PROVIDERS as an ordered list and a rate of unlimited', () => {
    const config = loadConfig({ DISCORD_TOKEN: 't', CHAIN_PROVIDERS: ' esplora , blockchain-info', ESPLORA_RPS: 'unlimited' });
    expect(config.CHAIN_PROVIDERS).toEqual(['esplora', 'blockchain-info']);
    expect(config.ESPLORA_RPS).toBe(Infinity);
  });

  it('refuses provider settings that cannot work, naming the variable', () => {
    expect(() => loadConfig({ DISCORD_TOKEN: 't', CHAIN_PROVIDERS: 'electrum' })).toThrowError(/CHAIN_PROVIDERS lists providers from: esplora, blockchain-info/);
    expect(() => loadConfig({ DISCORD_TOKEN: 't', NETWORK: 'testnet', CHAIN_PROVIDERS: 'blockchain-info' })).toThrowError(
      /CHAIN_PROVIDERS cannot include blockchain-info: it serves mainnet only/,
    );
    expect(() => loadConfig({ DISCORD_TOKEN: 't', NETWORK: 'regtest' })).toThrowError(/ESPLORA_URL must be set on regtest/);
    expect(() => loadConfig({ DISCORD_TOKEN: 't', BLOCKCHAIN_INFO_RPS: '0' })).toThrowError(/BLOCKCHAIN_INFO_RPS must be a positive number/);
    expect(() => loadConfig({ DISCORD_TOKEN: 't', NETWORK: 'moon' })).toThrowError(/NETWORK must be one of mainnet, testnet, signet, regtest/);
  });

  it('caps the addresses per server at 500 unless MAX_ADDRESSES_PER_GUILD says otherwise, and refuses a cap that is not a whole number', () => {
    expect(loadConfig({ DISCORD_TOKEN: 't' }).MAX_ADDRESSES_PER_GUILD).toBe(500);
    expect(loadConfig({ DISCORD_TOKEN: 't', MAX_ADDRESSES_PER_GUILD: ' 3 ' }).MAX_ADDRESSES_PER_GUILD).toBe(3);
    for (const bad of ['0', '-1', '2.5', 'lots', '1e3']) {
      expect(() => loadConfig({ DISCORD_TOKEN: 't', MAX_ADDRESSES_PER_GUILD: bad })).toThrowError(
        /MAX_ADDRESSES_PER_GUILD must be a whole number of addresses from 1 to 1000000/,
      );
    }
  });

  it('treats an empty value as unset so the default applies', () => {
    expect(loadConfig({ DISCORD_TOKEN: 't', DATABASE_URL: '' }).DATABASE_URL).toBe('file:./data/satbell');
  });

  it('accepts the three kinds of database URL', () => {
    for (const url of ['postgres://u@127.0.0.1/db', 'file:/var/lib/satbell', 'memory:']) {
      expect(loadConfig({ DISCORD_TOKEN: 't', DATABASE_URL: url }).DATABASE_URL).toBe(url);
    }
  });
});

describe('loadConfig: Electrum', () => {
  it('reads ELECTRUM_SERVERS in order, tcp and ssl, and TLS verification on by default', () => {
    const config = loadConfig({ DISCORD_TOKEN: 't', ELECTRUM_SERVERS: 'ssl://electrum.local:50002, tcp://10.0.0.5:50001' });
    expect(config.ELECTRUM_SERVERS).toEqual([
      { tls: true, host: 'electrum.local', port: 50002 },
      { tls: false, host: '10.0.0.5', port: 50001 },
    ]);
    expect(config.ELECTRUM_TLS_INSECURE).toBe(false);
    expect(loadConfig({ DISCORD_TOKEN: 't', ELECTRUM_TLS_INSECURE: 'true' }).ELECTRUM_TLS_INSECURE).toBe(true);
  });

  it('has no server when unset, and the sync polls every 5 minutes', () => {
    const config = loadConfig({ DISCORD_TOKEN: 't' });
    expect(config.ELECTRUM_SERVERS).toEqual([]);
    expect(config.SYNC_CRON).toBe('*/5 * * * *');
  });

  it('makes the sync a reconciliation every 30 minutes when push is on, unless SYNC_CRON says otherwise', () => {
    expect(loadConfig({ DISCORD_TOKEN: 't', ELECTRUM_SERVERS: 'tcp://h:1' }).SYNC_CRON).toBe('*/30 * * * *');
    expect(loadConfig({ DISCORD_TOKEN: 't', ELECTRUM_SERVERS: 'tcp://h:1', SYNC_CRON: '*/2 * * * *' }).SYNC_CRON).toBe('*/2 * * * *');
  });

  it('refuses a bad server or flag at start, naming the variable', () => {
    expect(() => loadConfig({ DISCORD_TOKEN: 't', ELECTRUM_SERVERS: 'tcp://h:1,http://h:2' })).toThrowError(
      /^Invalid configuration: ELECTRUM_SERVERS has "http:\/\/h:2", which is not tcp:\/\/host:port or ssl:\/\/host:port/,
    );
    expect(() => loadConfig({ DISCORD_TOKEN: 't', ELECTRUM_SERVERS: ' , ' })).toThrowError(/ELECTRUM_SERVERS lists no server/);
    expect(() => loadConfig({ DISCORD_TOKEN: 't', ELECTRUM_TLS_INSECURE: 'yes' })).toThrowError(/ELECTRUM_TLS_INSECURE must be true or false/);
  });
});
