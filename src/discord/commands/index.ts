import type { Command } from '../command.js';
import { addresses } from './addresses.js';
import { balance } from './balance.js';
import { config } from './config.js';
import { track } from './track.js';
import { txns } from './txns.js';
import { untrack } from './untrack.js';

/** Every slash command. Registration and dispatch both read this one list. */
export const commands: readonly Command[] = [track, untrack, addresses, balance, txns, config];
