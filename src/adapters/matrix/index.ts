import type { MatrixAccountConfig } from '../../config/matrix.js';
import type { ChatAdapter } from '../../core/adapter.js';
import type { AdapterDeps } from '../types.js';
import { MatrixAdapter } from './adapter.js';

/**
 * The Matrix adapter factory (issue 4). matrix-bot-sdk is loaded by start() of an account with
 * `encryption = true` only, through sdk-loader.ts, so creating the adapter loads nothing heavy.
 */
export function createMatrixAdapter(
  accountId: string,
  settings: MatrixAccountConfig,
  deps: AdapterDeps,
): ChatAdapter {
  return new MatrixAdapter(accountId, settings, deps);
}

export { MatrixAdapter };
