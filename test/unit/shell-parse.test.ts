import { ApplicationCommandOptionType as T } from 'discord.js';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/discord/command.js';
import { completer } from '../../src/shell/complete.js';
import { commandOptions, parseCommand, tokenize } from '../../src/shell/parse.js';

const execute = async () => ({});
const commands: Command[] = [
  {
    definition: {
      name: 'track',
      description: 'Track',
      options: [
        { type: T.String, name: 'address', description: 'a', required: true, max_length: 10 },
        { type: T.String, name: 'label', description: 'l' },
      ],
    },
    defer: false,
    execute,
  },
  {
    definition: {
      name: 'balance',
      description: 'Balance',
      options: [
        { type: T.String, name: 'address', description: 'a', required: true },
        { type: T.Boolean, name: 'fresh', description: 'f' },
      ],
    },
    defer: false,
    execute,
  },
  {
    definition: {
      name: 'config',
      description: 'Config',
      options: [
        { type: T.Subcommand, name: 'channel', description: 'c', options: [{ type: T.Channel, name: 'channel', description: 'c', required: true }] },
        { type: T.Subcommand, name: 'threshold', description: 't', options: [{ type: T.String, name: 'btc', description: 'b', required: true }] },
        { type: T.Subcommand, name: 'show', description: 's' },
      ],
    },
    defer: false,
    execute,
  },
];

const parse = (line: string) => parseCommand(tokenize(line), commands);
const values = (line: string) => Object.fromEntries(parse(line).values);

describe('the shell line parser', () => {
  it('reads name:value options, quoted values with spaces, and bare words in order', () => {
    expect(values('/track bc1q label:cold')).toEqual({ address: 'bc1q', label: 'cold' });
    expect(values('/track label:"cold storage" bc1q')).toEqual({ address: 'bc1q', label: 'cold storage' });
    expect(values("track 'bc1q' 'my \"hot\" one'")).toEqual({ address: 'bc1q', label: 'my "hot" one' });
    expect(values('/track "label:x"')).toEqual({ address: 'label:x' });
  });

  it("takes a descriptor's hardened steps as they are: a quote opens only where a value starts", () => {
    const descriptor = "wpkh([d34db33f/84'/0'/0']xpub6/<0;1>/*)";
    expect(values(`/balance ${descriptor}`)).toEqual({ address: descriptor });
    expect(values(`/balance address:"${descriptor}"`)).toEqual({ address: descriptor });
  });

  it('keeps an integer option within its range, as Discord does', () => {
    const gap: Command = {
      definition: { name: 'gap', description: 'g', options: [{ type: T.Integer, name: 'gap', description: 'g', min_value: 1, max_value: 1000 }] },
      defer: false,
      execute,
    };
    const options = commandOptions(parseCommand(tokenize('/gap gap:20'), [gap]));
    expect(options.integer('gap')).toBe(20);
    expect(() => parseCommand(tokenize('/gap gap:0'), [gap])).toThrow('gap is from 1 to 1000, not 0.');
    expect(() => parseCommand(tokenize('/gap gap:1001'), [gap])).toThrow('gap is from 1 to 1000, not 1001.');
  });

  it('types booleans and channels as the definition says', () => {
    expect(values('/balance cold fresh:TRUE')).toEqual({ address: 'cold', fresh: true });
    expect(values('/balance cold false')).toEqual({ address: 'cold', fresh: false });
    expect(() => parse('/balance cold fresh:maybe')).toThrowError('fresh is true or false, not maybe.');
    const channel = parse('/config channel #alerts');
    expect(commandOptions(channel).channel('channel')).toBe('alerts');
    expect(commandOptions(channel).subcommand()).toBe('channel');
  });

  it('takes the first bare word after a command with subcommands as the subcommand', () => {
    const parsed = parse('/config threshold btc:0.001');
    expect(parsed.subcommand).toBe('threshold');
    expect(commandOptions(parsed).string('btc')).toBe('0.001');
    expect(() => parse('/config')).toThrowError(/^\/config needs a subcommand: channel, threshold, show\.\n\/config channel <channel>/);
    expect(() => parse('/config nope')).toThrowError('/config has no subcommand nope: use one of channel, threshold, show.');
  });

  it('names an unknown command, an unknown option, a missing one and one too many', () => {
    expect(() => parse('/balanse x')).toThrowError('There is no /balanse. The commands are /track, /balance, /config; /help says more.');
    expect(() => parse('/balance x frsh:true')).toThrowError('/balance has no option frsh. Its options: address, fresh.');
    expect(() => parse('/balance fresh:true')).toThrowError('/balance needs address: /balance <address> [fresh:…]');
    expect(() => parse('/balance x true y')).toThrowError('/balance takes no more options than address, fresh: what is y?');
    expect(() => parse('/track address:a address:b')).toThrowError('The option address is given twice.');
  });

  it('keeps to the lengths the definition allows, and refuses an empty value', () => {
    expect(() => parse('/track 01234567890')).toThrowError('address takes at most 10 characters.');
    expect(() => parse('/track x label:')).toThrowError('label: has no value.');
    expect(() => parse('/track "bc1q')).toThrowError('A double quote is not closed.');
  });

  it('reads page:N as the page to show, counting from 1', () => {
    expect(parse('/balance x page:3').page).toBe(2);
    expect(parse('/balance x').page).toBeNull();
    expect(() => parse('/balance x page:0')).toThrowError('page:0 is not a page: use page:1, page:2, …');
  });
});

describe('tab completion', () => {
  it('completes command names, subcommands and option names', () => {
    expect(completer('/ba', commands)).toEqual([['/balance'], '/ba']);
    expect(completer('s', commands)).toEqual([['sync'], 's']);
    expect(completer('/config th', commands)).toEqual([['threshold'], 'th']);
    expect(completer('/config threshold b', commands)).toEqual([['btc:'], 'b']);
    expect(completer('/balance cold f', commands)).toEqual([['fresh:'], 'f']);
    expect(completer('/balance cold fresh:t', commands)).toEqual([[], 'fresh:t']);
  });
});
