import type { APIEmbed } from 'discord.js';
import type { CommandReply } from '../discord/command.js';
import type { Said } from '../errors.js';
import { withoutForbidden } from '../text.js';

/**
 * Replies and notices as terminal text: the very embeds Discord shows, with Discord's markdown
 * simplified to what reads well without it.
 */
export interface TextOptions {
  /** what relative times count from; default: now */
  now?: Date;
  /** for dates; default: the system's */
  locale?: string;
  /** for dates; default: the system's */
  timeZone?: string;
}

/** A reply: its content, then each embed, blank-line separated. */
export function renderReply(reply: CommandReply, options: TextOptions = {}): string {
  const parts = reply.content ? [simplifyMarkdown(reply.content, options)] : [];
  for (const embed of reply.embeds ?? []) parts.push(renderEmbed(embed, options));
  return parts.join('\n\n');
}

/**
 * The title on a line of its own, then description, `name: value` fields and the footer indented
 * under it, so one reply stands apart from the next command.
 */
export function renderEmbed(embed: APIEmbed, options: TextOptions = {}): string {
  const md = (text: string) => simplifyMarkdown(text, options);
  const body: string[] = [];
  if (embed.author?.name) body.push(md(embed.author.name));
  if (embed.description) body.push(md(embed.description));
  for (const field of embed.fields ?? []) body.push(`${md(field.name)}: ${md(field.value)}`.replace(/\n/g, '\n  '));
  const footer = [
    embed.footer?.text ? md(embed.footer.text) : '',
    embed.timestamp ? formatTimestamp(Date.parse(embed.timestamp) / 1000, 'f', options) : '',
  ].filter(Boolean);
  if (footer.length) body.push(footer.join(' · '));
  const indented = body.join('\n').replace(/^(?=.)/gm, '  ');
  return embed.title ? `${md(embed.title)}${indented ? `\n${indented}` : ''}` : indented;
}

/** What a user is told, as terminal text: values and names as they are, commands as typed here. */
export function renderSaid(said: readonly Said[]): string {
  return said
    .map((part) => {
      if (typeof part === 'string') return part;
      if ('value' in part) return part.value;
      if ('name' in part) return withoutForbidden(part.name);
      return `/${part.command}`;
    })
    .join('');
}

/** Where a paged reply is, and how to move: `page 2 of 14 — type next or prev`. Empty for one page. */
export function renderPage(page: { index: number; count: number } | undefined): string {
  if (!page || page.count <= 1) return '';
  const where = `page ${(page.index + 1).toLocaleString('en-US')} of ${page.count.toLocaleString('en-US')}`;
  if (page.index <= 0) return `${where} — type next for more`;
  if (page.index >= page.count - 1) return `${where} — type prev to go back`;
  return `${where} — type next or prev`;
}

const OPEN = '\uE000';
const CLOSE = '\uE001';

/**
 * Discord markdown as plain text: `**x**` → x, `[text](url)` → `text <url>`, inline code without
 * its backticks, `<t:…:R>` → "3 minutes ago" and the other timestamp styles → local dates,
 * `<#id>` → `#id`, escaped characters unescaped. Code, escapes, links and times are set aside
 * first so that the emphasis rules cannot touch what they hold.
 */
export function simplifyMarkdown(text: string, options: TextOptions = {}): string {
  const kept: string[] = [];
  const keep = (literal: string) => `${OPEN}${kept.push(literal) - 1}${CLOSE}`;
  const out = text
    // One pass, left to right: an escaped backtick opens no code span, and code keeps its backslashes.
    .replace(/```(?:[\w-]*\n)?([\s\S]*?)\n?```|\\([^\sA-Za-z0-9])|`([^`\n]+)`/g, (_, block?: string, escaped?: string, code?: string) =>
      keep(block ?? escaped ?? code ?? ''),
    )
    .replace(/\[([^\]\n]+)\]\(<?(https?:\/\/[^\s)>]+)>?\)/g, (_, label: string, url: string) => `${label} ${keep(`<${url}>`)}`)
    .replace(/<(https?:\/\/[^\s>]+)>/g, (_, url: string) => keep(`<${url}>`))
    .replace(/https?:\/\/[^\s<>]+/g, (url) => keep(url))
    .replace(/<t:(-?\d+)(?::([tTdDfFR]))?>/g, (_, seconds: string, style?: string) =>
      keep(formatTimestamp(Number(seconds), (style ?? 'f') as TimestampStyle, options)),
    )
    .replace(/<#(\d+|[\w-]+)>/g, (_, id: string) => keep(`#${id}`))
    .replace(/<@[!&]?(\d+)>/g, (_, id: string) => keep(`@${id}`))
    .replace(/<a?(:\w+:)\d+>/g, '$1')
    .replace(/\*\*([\s\S]+?)\*\*/g, '$1')
    .replace(/__([\s\S]+?)__/g, '$1')
    .replace(/~~([\s\S]+?)~~/g, '$1')
    .replace(/\|\|([\s\S]+?)\|\|/g, '$1')
    .replace(/(^|[^\w*])\*(?!\s)([^*\n]+?)\*(?!\w)/gm, '$1$2')
    .replace(/(^|[^\w])_(?!\s)([^_\n]+?)_(?!\w)/gm, '$1$2')
    .replace(/^(?:-#|#{1,3}) +/gm, '')
    // escapeMarkdown puts a zero-width space after @ so that nothing pings: invisible, but it
    // would ride along in a copied label.
    .replace(/@\u200b/g, '@')
    .replace(/:\u200b\/\//g, '://')
    .replace(/\b(www)\u200b\./gi, '$1.');
  return out.replace(new RegExp(`${OPEN}(\\d+)${CLOSE}`, 'g'), (_, i: string) => kept[Number(i)]!);
}

export type TimestampStyle = 't' | 'T' | 'd' | 'D' | 'f' | 'F' | 'R';

const DATE_STYLES: Record<Exclude<TimestampStyle, 'R'>, Intl.DateTimeFormatOptions> = {
  t: { timeStyle: 'short' },
  T: { timeStyle: 'medium' },
  d: { dateStyle: 'short' },
  D: { dateStyle: 'long' },
  f: { dateStyle: 'long', timeStyle: 'short' },
  F: { dateStyle: 'full', timeStyle: 'short' },
};

/** A Discord timestamp (`<t:seconds:style>`) as Discord shows it, in the local time zone. */
export function formatTimestamp(seconds: number, style: TimestampStyle, { now = new Date(), locale, timeZone }: TextOptions = {}): string {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return 'an unknown time';
  if (style === 'R') return relative(date, now);
  return new Intl.DateTimeFormat(locale, { ...DATE_STYLES[style], timeZone }).format(date);
}

const relativeFormat = new Intl.RelativeTimeFormat('en', { numeric: 'always' });
const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * "3 minutes ago", "in 2 hours": rounded to the unit that suits, with the thresholds Discord's
 * `R` style uses (45 s reads as a minute, 22 h as a day).
 */
function relative(date: Date, now: Date): string {
  const seconds = (date.getTime() - now.getTime()) / 1000;
  const size = Math.abs(seconds);
  if (size < 5) return 'just now';
  const [unit, length]: [Intl.RelativeTimeFormatUnit, number] =
    size < 45 ? ['second', 1]
    : size < 45 * MINUTE ? ['minute', MINUTE]
    : size < 22 * HOUR ? ['hour', HOUR]
    : size < 26 * DAY ? ['day', DAY]
    : size < 320 * DAY ? ['month', 30.4 * DAY]
    : ['year', 365 * DAY];
  return relativeFormat.format(Math.round(seconds / length), unit);
}
