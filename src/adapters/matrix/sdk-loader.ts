/**
 * The one place that loads matrix-bot-sdk (issue 4 §3, "End-to-end encryption").
 *
 * matrix-bot-sdk 0.7.1 requires @matrix-org/matrix-sdk-crypto-nodejs eagerly (lib/index.js ->
 * lib/MatrixClient.js -> lib/e2ee/CryptoClient.js). That package is a napi-rs loader whose install
 * step downloads a native binary from GitHub; without the binary, `require('matrix-bot-sdk')`
 * throws "Cannot find module '@matrix-org/matrix-sdk-crypto-nodejs-linux-x64-gnu'". The SDK only
 * touches the binding inside functions that run when a client has a crypto store, so:
 *
 * - While the SDK is being required (CommonJS require is synchronous, so the window is exact), a
 *   Module._load hook answers that one module name with a stand-in and is removed right after.
 * - The stand-in is inert: every property read throws "end-to-end encryption is disabled". Once an
 *   account with `encryption = true` has loaded the real binding, the stand-in forwards to it.
 * - With encryption on, the real binding is required first; a missing native module becomes a
 *   startup error that says how to get it.
 *
 * Only the adapter calls this, and only from start(), so a relay without Matrix never loads the SDK.
 */
import Module, { createRequire } from 'node:module';
import type * as MatrixSdk from 'matrix-bot-sdk';

export type MatrixSdkModule = typeof MatrixSdk;

export const CRYPTO_MODULE = '@matrix-org/matrix-sdk-crypto-nodejs';
export const ENCRYPTION_DISABLED = 'end-to-end encryption is disabled (matrix.<account>.encryption = false)';

export class MatrixCryptoUnavailableError extends Error {
  override readonly name = 'MatrixCryptoUnavailableError';
}

const requireHere = createRequire(import.meta.url);

/** Node's CommonJS loader entry point (lib/internal/modules/cjs/loader.js); not in @types/node. */
interface ModuleInternals {
  _load: (this: unknown, request: string, parent: unknown, isMain: boolean) => unknown;
}

let sdk: MatrixSdkModule | undefined;
let realCrypto: object | undefined;

/** What the SDK holds in place of the binding: throws until a real binding is installed. */
export const cryptoStandIn: object = new Proxy(
  {},
  {
    get(_target, property) {
      if (realCrypto !== undefined) return Reflect.get(realCrypto, property) as unknown;
      // Probes by module interop helpers and inspection are answered, not thrown at.
      if (typeof property === 'symbol' || property === '__esModule' || property === 'then') return undefined;
      throw new Error(`${ENCRYPTION_DISABLED}: ${CRYPTO_MODULE}.${property} is not available`);
    },
    has(_target, property) {
      return realCrypto !== undefined && Reflect.has(realCrypto, property);
    },
  },
);

/**
 * How to get the binary; quoted by the startup error and docs/matrix.md. The package's postinstall
 * (download-lib.js) fetches matrix-sdk-crypto.<platform>.node from the matrix-rust-sdk GitHub
 * release of its version into the package directory; there are no per-platform npm packages.
 */
export const CRYPTO_INSTALL_HINT =
  `install its native library: with access to GitHub run ` +
  `"npm rebuild ${CRYPTO_MODULE} --ignore-scripts=false" (its install script downloads the prebuilt ` +
  `library for this platform), or copy matrix-sdk-crypto.<platform>.node (e.g. matrix-sdk-crypto.linux-x64-gnu.node, ` +
  `from the matrix-rust-sdk release "matrix-sdk-crypto-nodejs-v<version>") into node_modules/${CRYPTO_MODULE}/; ` +
  `or set encryption = false`;

function loadRealCrypto(): object {
  if (realCrypto !== undefined) return realCrypto;
  try {
    realCrypto = requireHere(CRYPTO_MODULE) as object;
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new MatrixCryptoUnavailableError(
      `Matrix end-to-end encryption is enabled but ${CRYPTO_MODULE} cannot be loaded (${why}); ${CRYPTO_INSTALL_HINT}`,
      { cause: error },
    );
  }
  return realCrypto;
}

/**
 * Returns matrix-bot-sdk, loading it on first use. With `encryption`, the native crypto binding is
 * loaded too (throws MatrixCryptoUnavailableError when it is missing); without, it never is.
 */
export function loadMatrixSdk(options: { encryption: boolean }): MatrixSdkModule {
  if (options.encryption) loadRealCrypto();
  if (sdk !== undefined) return sdk;
  const internals = Module as unknown as ModuleInternals;
  const originalLoad = internals._load;
  internals._load = function load(this: unknown, request: string, parent: unknown, isMain: boolean): unknown {
    if (request === CRYPTO_MODULE) return cryptoStandIn;
    return originalLoad.call(this, request, parent, isMain);
  };
  try {
    sdk = requireHere('matrix-bot-sdk') as MatrixSdkModule;
  } finally {
    internals._load = originalLoad;
  }
  return sdk;
}

/** True once the native binding has been loaded in this process (tests check it stays false). */
export function nativeCryptoLoaded(): boolean {
  return realCrypto !== undefined;
}
