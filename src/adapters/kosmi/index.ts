import { KosmiTokenManager } from '../../auth/token-manager.js';
import type { KosmiAccountConfig } from '../../config/kosmi.js';
import type { ChatAdapter } from '../../core/adapter.js';
import type { AdapterDeps } from '../types.js';
import { KosmiAdapter } from './adapter.js';

/** The Kosmi bridge (issue 3): one account, its rooms from the gateways, its token cache. */
export function createKosmiAdapter(
  accountId: string,
  settings: KosmiAccountConfig,
  deps: AdapterDeps,
): ChatAdapter {
  const tokens = new KosmiTokenManager({
    account: accountId,
    settings,
    dataDir: deps.dataDir,
    logger: deps.logger.child({ component: 'kosmi-auth', account: accountId }),
  });
  return new KosmiAdapter(accountId, settings, deps, tokens);
}

export { KosmiAdapter } from './adapter.js';
