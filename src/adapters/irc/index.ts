import type { IrcAccountConfig } from '../../config/irc.js';
import type { ChatAdapter } from '../../core/adapter.js';
import type { AdapterDeps } from '../types.js';
import { IrcAdapter } from './adapter.js';

export { IrcAdapter, parseServer } from './adapter.js';

/** The IRC bridge (issue 2 §4); loaded by adapters/registry.ts only when an [irc.*] account exists. */
export function createIrcAdapter(
  accountId: string,
  settings: IrcAccountConfig,
  deps: AdapterDeps,
): ChatAdapter {
  return new IrcAdapter(accountId, settings, deps);
}
