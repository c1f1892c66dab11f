import type { IrcAccountConfig } from '../../config/irc.js';
import type { AdapterDeps, ChatAdapter } from '../types.js';

// Placeholder until the irc adapter lands (its issue replaces this file).
export function createIrcAdapter(_account: string, _settings: IrcAccountConfig, _deps: AdapterDeps): ChatAdapter {
  throw new Error('irc adapter not built yet');
}
