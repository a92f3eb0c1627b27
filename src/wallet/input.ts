/**
 * What members type, checked before it goes anywhere: into the database (Postgres refuses a NUL
 * byte outright), into a label that every notice of the address shows to a whole channel, or into
 * a search. Every text the wallet service takes passes through here, so Discord and the shell get
 * the same protection.
 */
import { type Said, UserError, value, words } from '../errors.js';
import { forbiddenCharacter } from '../text.js';

/**
 * Refuse text holding a control or invisible character, naming it (the text itself is not echoed:
 * it would carry the character along). `what` says which input, e.g. "The address".
 */
export function checkText(text: string, what: string): string {
  const found = forbiddenCharacter(text);
  if (found) {
    throw new UserError(
      'invalid_input',
      `${what} contains an invisible control character (${found}), which is not allowed. Type it again without it.`,
    );
  }
  return text;
}

/** Markdown that would change how a notice or a reply shows the label. */
const MARKDOWN = /[[\]*_~|`<>]/;
/** A heading or subtext marker at the start of a line (`# `, `## `, `-# `). */
const HEADING = /(?:^|\n)\s*-?#{1,3}\s/;
const LINK = /[a-z][a-z0-9+.-]*:\/\/|\bwww\./i;
const MENTION = /@(?:everyone|here)\b|<[@#]/i;

/**
 * A label is shown in public notices and every reply about its address: it may not carry a link,
 * a mention, or markdown that changes what the message says. Also refused: control characters.
 * Returns the label as given; callers trim and collapse its spaces.
 */
export function checkLabelText(label: string): string {
  checkText(label, 'The label');
  if (LINK.test(label)) {
    throw new UserError('invalid_input', words`A label cannot contain a link (${value('://')} or ${value('www.')}): pick a plain name such as ${value('cold storage')}.`);
  }
  if (MENTION.test(label)) {
    throw new UserError(
      'invalid_input',
      words`A label cannot mention anyone or anything (${value('@everyone')}, ${value('@here')}, ${value('<@…>')}, ${value('<#…>')}): pick a plain name such as ${value('cold storage')}.`,
    );
  }
  const markdown = MARKDOWN.exec(label)?.[0];
  if (markdown || HEADING.test(label)) {
    const found: Said[] = markdown === '`' ? ['a backtick'] : markdown ? [value(markdown)] : words`a ${value('#')} heading`;
    const refused = ['[', ']', '*', '_', '~', '|', '<', '>'].flatMap((c, i) => (i ? [' ', value(c)] : [value(c)]));
    throw new UserError('invalid_input', [
      ...words`A label cannot contain `,
      ...found,
      ...words`: Discord would read it as formatting. These are not allowed in labels: `,
      ...refused,
      ...words`, a backtick, and ${value('#')} at the start. Pick a plain name such as ${value('cold storage')}.`,
    ]);
  }
  return label;
}

/** Whether an autocomplete fragment is worth a search: one with a control character matches nothing. */
export const isSearchable = (fragment: string) => forbiddenCharacter(fragment) === null;
