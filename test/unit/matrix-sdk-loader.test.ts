import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createMatrixAdapter } from '../../src/adapters/matrix/index.js';
import {
  CRYPTO_MODULE,
  MatrixCryptoUnavailableError,
  loadMatrixSdk,
  nativeCryptoLoaded,
} from '../../src/adapters/matrix/sdk-loader.js';
import { matrixAccountSchema } from '../../src/config/matrix.js';
import { memoryCursors, memoryMessages } from '../helpers/memory-cursors.js';

const requireHere = createRequire(import.meta.url);
const cryptoModulesInCache = (): string[] =>
  Object.keys(requireHere.cache).filter((file) => file.includes('matrix-sdk-crypto-nodejs'));
const sdkModulesInCache = (): string[] =>
  Object.keys(requireHere.cache).filter((file) => file.includes(`${path.sep}matrix-bot-sdk${path.sep}`));

// Vitest runs each test file in its own process, and these tests run in order: first without
// encryption (nothing may load the native module, nor matrix-bot-sdk, which requires it eagerly),
// then with it (it must fail clearly here, where the native binary was never downloaded).
describe('matrix-bot-sdk loader', () => {
  it('with encryption off, neither creating nor starting an adapter loads matrix-bot-sdk or the native crypto module', async () => {
    const { rmSync } = await import('node:fs');
    expect(cryptoModulesInCache()).toEqual([]);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'kr-loader-'));
    const settings = matrixAccountSchema.parse({
      homeserver: 'http://127.0.0.1:9',
      user_id: '@relay:localhost',
      password: 'pw',
    });
    const adapter = createMatrixAdapter('matrix.loader', settings, {
      logger: pino({ level: 'silent' }),
      dataDir,
      channels: ['#room:localhost'],
      cursors: memoryCursors(),
      messages: memoryMessages(),
    });
    expect(sdkModulesInCache()).toEqual([]);
    await adapter.start();
    await adapter.stop(1_000);
    expect(cryptoModulesInCache()).toEqual([]);
    expect(sdkModulesInCache()).toEqual([]);
    expect(nativeCryptoLoaded()).toBe(false);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('with encryption on, a missing native module is a clear startup error that says how to get it', async () => {
    expect(() => loadMatrixSdk()).toThrow(MatrixCryptoUnavailableError);
    expect(() => loadMatrixSdk()).toThrow(
      new RegExp(
        `${CRYPTO_MODULE.replace(/[/.-]/g, '\\$&')} cannot be loaded .*npm rebuild @matrix-org/matrix-sdk-crypto-nodejs --ignore-scripts=false`,
      ),
    );
    const settings = matrixAccountSchema.parse({
      homeserver: 'http://127.0.0.1:9',
      user_id: '@relay:localhost',
      password: 'pw',
      encryption: true,
    });
    const adapter = createMatrixAdapter('matrix.e2ee', settings, {
      logger: pino({ level: 'silent' }),
      dataDir: tmpdir(),
      channels: ['#room:localhost'],
      cursors: memoryCursors(),
      messages: memoryMessages(),
    });
    await expect(adapter.start()).rejects.toThrow(
      /end-to-end encryption is enabled but .* or set encryption = false/,
    );
    expect(nativeCryptoLoaded()).toBe(false);
    expect(sdkModulesInCache()).toEqual([]);
  });
});
