import type { Said } from '../../errors.js';
import { escapeMarkdown } from '../../text.js';

/**
 * What a user is told, in Discord markdown: values as inline code (a backtick in one cannot close
 * it), names in bold and escaped, commands as the slash command to type.
 */
export function renderSaid(said: readonly Said[]): string {
  return said
    .map((part) => {
      if (typeof part === 'string') return part;
      if ('value' in part) return `\`${part.value.replace(/`/g, "'")}\``;
      if ('name' in part) return `**${escapeMarkdown(part.name)}**`;
      return `\`/${part.command}\``;
    })
    .join('');
}
