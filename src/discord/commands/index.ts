import type { Command } from '../command.js';
import { addresses } from './addresses.js';
import { balance } from './balance.js';
import { config } from './config.js';
import { createHelp } from './help.js';
import { label } from './label.js';
import { track } from './track.js';
import { txns } from './txns.js';
import { untrack } from './untrack.js';

/** Every slash command. Registration, dispatch and /help all read this one list. */
export const commands: readonly Command[] = [track, untrack, label, addresses, balance, txns, config, createHelp(() => commands)];
