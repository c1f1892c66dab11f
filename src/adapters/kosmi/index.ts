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
    // deps.logger already names the component and account; pino would write a second key of each.
    logger: deps.logger.child({ part: 'auth' }),
  });
  return new KosmiAdapter(accountId, settings, deps, tokens);
}

export { KosmiAdapter } from './adapter.js';
