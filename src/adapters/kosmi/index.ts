import type { KosmiAccountConfig } from '../../config/kosmi.js';
import type { AdapterDeps, ChatAdapter } from '../types.js';

// Placeholder until the kosmi adapter lands (its issue replaces this file).
export function createKosmiAdapter(_account: string, _settings: KosmiAccountConfig, _deps: AdapterDeps): ChatAdapter {
  throw new Error('kosmi adapter not built yet');
}
