/**
 * User text (labels, addresses, search fragments) made safe: which characters nobody means to
 * type, and how to show text in Discord markdown as plain text whatever it holds. Imports nothing,
 * so that errors, the wallet and the renderers can all use it.
 */

/**
 * Characters nobody means to type: C0 and C1 controls (NUL among them; tab and line breaks are
 * whitespace, which labels and lookups collapse), the bidirectional overrides and isolates that
 * make text read in another order than it is stored (U+202E), invisible marks and separators, and
 * lone surrogates. The zero-width joiner stays: emoji sequences need it.
 */
const FORBIDDEN =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ALL_FORBIDDEN = new RegExp(FORBIDDEN.source, 'g');

/** The first forbidden character in `text`, as `U+0000`, or null when there is none. */
export function forbiddenCharacter(text: string): string | null {
  const found = FORBIDDEN.exec(text)?.[0];
  return found === undefined ? null : `U+${found.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** `text` with every forbidden character removed. */
export const withoutForbidden = (text: string) => text.replace(ALL_FORBIDDEN, '');

/**
 * A label (or other user text) inside Discord markdown, shown as plain text: older versions stored
 * labels unchecked. Markdown is escaped (also `<`, so `<@id>`, `<#id>` and `<http://…>` stay text),
 * control and bidi characters are dropped, a zero-width space after `@` stops mentions, and one
 * inside `://` and after `www` stops Discord from turning a URL into a link.
 */
export function escapeMarkdown(text: string): string {
  return withoutForbidden(text)
    .replace(/([\\*_~`|<>#[\]()])/g, '\\$1')
    .replace(/^(\s*)-/gm, '$1\\-')
    .replace(/@/g, '@\u200b')
    .replace(/:\/\//g, ':\u200b//')
    .replace(/\b(www)\./gi, '$1\u200b.');
}
