/**
 * The one place that loads matrix-bot-sdk (issue 4 §3, issue 9 §2), and only for accounts with
 * `encryption = true`: the relay speaks the Client-Server API itself (http.ts, sync-loop.ts,
 * sync-events.ts) and needs the SDK only for its end-to-end encryption (CryptoClient).
 *
 * Why not always: matrix-bot-sdk 0.8.0 requires @matrix-org/matrix-sdk-crypto-nodejs eagerly
 * (lib/index.js -> lib/MatrixClient.js -> lib/e2ee/CryptoClient.js line 13), a napi-rs loader that
 * throws without its native library (its install step downloads it from GitHub; this project
 * installs with ignore-scripts). 0.8 offers no public way to load the SDK without it. Loading the
 * SDK also costs about 45 MiB of RSS (it pulls in `request`, `express`, `lodash`, `sanitize-html`,
 * `html-to-text`, `postgres`, `lowdb`, ... at require time, over 500 modules; measured with
 * bench/matrix-memory.ts), and `request` makes Node 24 print deprecation warnings (punycode,
 * util._extend). So without encryption the SDK is never loaded, and no private Node hook
 * (Module._load) is needed to keep the native module out.
 *
 * With encryption, the native binding is required first: a missing library becomes a startup
 * error that says how to get it, instead of the SDK's bare "Cannot find module".
 */
import { createRequire } from 'node:module';
import type * as MatrixSdk from 'matrix-bot-sdk';

export type MatrixSdkModule = typeof MatrixSdk;

export const CRYPTO_MODULE = '@matrix-org/matrix-sdk-crypto-nodejs';
export const SDK_MODULE = 'matrix-bot-sdk';

export class MatrixCryptoUnavailableError extends Error {
  override readonly name = 'MatrixCryptoUnavailableError';
}

const requireHere = createRequire(import.meta.url);

/** What the relay reads from the native binding itself (its index.d.ts, 0.4.0). */
export interface CryptoBinding {
  readonly StoreType: { readonly Sqlite: number };
}

let sdk: MatrixSdkModule | undefined;
let binding: CryptoBinding | undefined;

/**
 * How to get the binary; quoted by the startup error and docs/matrix.md. The package's postinstall
 * (download-lib.js) fetches matrix-sdk-crypto.<platform>.node from the GitHub release of its version
 * (matrix-org/matrix-rust-sdk-crypto-nodejs, tag v<version>) into the package directory; there are
 * no per-platform npm packages.
 */
export const CRYPTO_INSTALL_HINT =
  `install its native library: with access to GitHub run ` +
  `"npm rebuild ${CRYPTO_MODULE} --ignore-scripts=false" (its install script downloads the prebuilt ` +
  `library for this platform), or copy matrix-sdk-crypto.<platform>.node (e.g. matrix-sdk-crypto.linux-x64-gnu.node, ` +
  `from the matrix-org/matrix-rust-sdk-crypto-nodejs release "v<version>") into node_modules/${CRYPTO_MODULE}/; ` +
  `or set encryption = false`;

function loadBinding(): CryptoBinding {
  if (binding !== undefined) return binding;
  try {
    binding = requireHere(CRYPTO_MODULE) as CryptoBinding;
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new MatrixCryptoUnavailableError(
      `Matrix end-to-end encryption is enabled but ${CRYPTO_MODULE} cannot be loaded (${why}); ${CRYPTO_INSTALL_HINT}`,
      { cause: error },
    );
  }
  return binding;
}

/**
 * Loads the native crypto binding, then matrix-bot-sdk, on first use; for `encryption = true` only.
 * Throws MatrixCryptoUnavailableError when the native library is missing.
 */
export function loadMatrixSdk(): { sdk: MatrixSdkModule; binding: CryptoBinding } {
  const loaded = loadBinding();
  sdk ??= requireHere(SDK_MODULE) as MatrixSdkModule;
  return { sdk, binding: loaded };
}

/** True once the native binding has been loaded in this process (tests check it stays false). */
export function nativeCryptoLoaded(): boolean {
  return binding !== undefined;
}
