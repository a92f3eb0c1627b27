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
    });
    expect(config.DISCORD_API_URL).toBeUndefined();
    expect(config.DISCORD_GUILD_ID).toBeUndefined();
  });

  it('explains how to get a token when DISCORD_TOKEN is missing or blank', () => {
    for (const env of [{}, { DISCORD_TOKEN: '  ' }]) {
      expect(() => loadConfig(env)).toThrowError(/DISCORD_TOKEN is not set: create an application/);
    }
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

  it('treats an empty value as unset so the default applies', () => {
    expect(loadConfig({ DISCORD_TOKEN: 't', DATABASE_URL: '' }).DATABASE_URL).toBe('file:./data/satbell');
  });

  it('accepts the three kinds of database URL', () => {
    for (const url of ['postgres://u@127.0.0.1/db', 'file:/var/lib/satbell', 'memory:']) {
      expect(loadConfig({ DISCORD_TOKEN: 't', DATABASE_URL: url }).DATABASE_URL).toBe(url);
    }
  });
});
