import { describe, expect, it } from 'vitest';
import { renderSaid } from '../../src/discord/render/said.js';
import { isUserError } from '../../src/errors.js';
import { checkLabelText, checkText, isSearchable } from '../../src/wallet/input.js';
import { escapeMarkdown } from '../../src/text.js';

describe('checkText', () => {
  it.each(['\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u200e', '\u202e', '\u2067', '\ufeff', '\ud800'])(
    'refuses %j, naming the character and not echoing the text',
    (char) => {
      expect(() => checkText(`cold${char}`, 'The label')).toThrowError(/^The label contains an invisible control character \(U\+[0-9A-F]{4}\)/);
    },
  );

  it('lets ordinary text through, emoji sequences with their joiners included', () => {
    for (const text of ['cold storage', 'Épargne 2024', '冷钱包', '👨‍👩‍👧 family', 'tab\tand\nline breaks', '🏳️‍🌈']) {
      expect(checkText(text, 'The label')).toBe(text);
    }
  });
});

describe('checkLabelText', () => {
  it.each([
    ['[click me](http://evil.example/login)', 'a link'],
    ['<http://evil.example>', 'a link'],
    ['see ftp://x', 'a link'],
    ['WWW.evil.example', 'a link'],
    ['@everyone look', 'mention'],
    ['@Here', 'mention'],
    ['<@123>', 'mention'],
    ['<#456>', 'mention'],
    ['<@&789>', 'mention'],
    ['**bold**', '`*`'],
    ['a_b', '`_`'],
    ['~~gone~~', '`~`'],
    ['||spoiler||', '`|`'],
    ['`code`', 'a backtick'],
    ['> quote', '`>`'],
    ['# heading', 'a `#` heading'],
    ['-# small', 'a `#` heading'],
    ['[x]', '`[`'],
  ])('refuses %j, saying what is wrong (%s)', (label, problem) => {
    expect(refusalInDiscord(() => checkLabelText(label))).toContain(problem);
  });

  it('accepts plain names, with an @ that mentions nobody, a # inside and brackets', () => {
    for (const label of ['cold storage', 'alice@home', 'wallet #2', 'savings (2024)', "Bob's tip jar", 'hot-wallet', 'a.b.c']) {
      expect(checkLabelText(label)).toBe(label);
    }
  });
});

describe('isSearchable', () => {
  it('says a fragment with a control character matches nothing', () => {
    expect(isSearchable('col')).toBe(true);
    expect(isSearchable('col\u0000')).toBe(false);
  });
});

describe('escapeMarkdown', () => {
  it('leaves no link, mention or formatting in a label stored unchecked', () => {
    const shown = escapeMarkdown('[click me](http://evil.example/login) <http://x.example> www.y.example @everyone <@1> <#2> **b** # h\u202e');
    expect(shown).not.toMatch(/https?:\/\//);
    expect(shown).not.toMatch(/www\./i);
    expect(shown).not.toMatch(/(?<!\\)[[\]()<>*#]/);
    expect(shown).not.toMatch(/@(everyone|1)/);
    expect(shown).not.toContain('\u202e');
  });

  it('escapes a dash that would start a subtext line', () => {
    expect(escapeMarkdown('-# small')).toBe('\\-\\# small');
  });
});

/** What the user is told in Discord when `check` refuses; fails if it accepts. */
function refusalInDiscord(check: () => unknown): string {
  try {
    check();
  } catch (err) {
    if (isUserError(err)) return renderSaid(err.said);
    throw err;
  }
  throw new Error('accepted');
}
