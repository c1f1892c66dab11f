import type { MatrixAccountConfig } from '../../config/matrix.js';
import type { AdapterDeps, ChatAdapter } from '../types.js';

// Placeholder until the matrix adapter lands (its issue replaces this file).
export function createMatrixAdapter(_account: string, _settings: MatrixAccountConfig, _deps: AdapterDeps): ChatAdapter {
  throw new Error('matrix adapter not built yet');
}
