import type { AccountConfig } from '../config/schema.js';
import type { ChatAdapter } from '../core/adapter.js';
import type { AdapterDeps } from './types.js';

/**
 * The one place that knows which adapter serves which protocol. Each adapter module is loaded
 * only when an account of its protocol exists, so a relay without Kosmi never loads graphql-ws
 * (and matrix-bot-sdk is loaded only for Matrix accounts with encryption on).
 */
export async function createAdapter(account: AccountConfig, deps: AdapterDeps): Promise<ChatAdapter> {
  switch (account.protocol) {
    case 'irc': {
      const { createIrcAdapter } = await import('./irc/index.js');
      return createIrcAdapter(account.id, account.settings, deps);
    }
    case 'kosmi': {
      const { createKosmiAdapter } = await import('./kosmi/index.js');
      return createKosmiAdapter(account.id, account.settings, deps);
    }
    case 'matrix': {
      const { createMatrixAdapter } = await import('./matrix/index.js');
      return createMatrixAdapter(account.id, account.settings, deps);
    }
  }
}
