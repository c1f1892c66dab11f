/**
 * The end-to-end encryption of one account (`encryption = true`): matrix-bot-sdk's MatrixClient
 * with a RustSdkCryptoStorageProvider in the data dir, whose CryptoClient encrypts what the relay
 * sends to encrypted rooms and decrypts what it receives. Without encryption none of this is
 * loaded (sdk-loader.ts).
 */
import type { Logger } from 'pino';
import { createRelayClient, type MatrixApi, type RelayClient } from './client.js';
import { cryptoStoreDir } from './files.js';
import { bridgeSdkLogs } from './log-bridge.js';
import { loadMatrixSdk, type MatrixSdkModule } from './sdk-loader.js';
import type { SyncCrypto } from './sync-events.js';
import type { SyncStore } from './sync-store.js';

export interface E2eeOptions {
  readonly account: string;
  readonly dataDir: string;
  readonly homeserver: string;
  readonly api: MatrixApi;
  readonly storage: SyncStore;
  readonly logger: Logger;
}

export class MatrixE2ee {
  private readonly announcedJoins = new Set<string>();

  private constructor(
    readonly client: RelayClient,
    private readonly sdk: MatrixSdkModule,
  ) {}

  /** Throws MatrixCryptoUnavailableError when the native crypto library is missing. */
  static load(options: E2eeOptions): MatrixE2ee {
    const { sdk, binding } = loadMatrixSdk();
    bridgeSdkLogs(sdk, options.logger);
    const client = createRelayClient(sdk, {
      homeserver: options.homeserver,
      api: options.api,
      storage: options.storage,
      // 0.8 (matrix-sdk-crypto-nodejs 0.4) stores keys in SQLite only; 0.7.1 used Sled (docs/matrix.md).
      cryptoStore: new sdk.RustSdkCryptoStorageProvider(
        cryptoStoreDir(options.dataDir, options.account),
        binding.StoreType.Sqlite,
      ),
    });
    return new MatrixE2ee(client, sdk);
  }

  /** What dispatchSyncEvents needs to decrypt and to keep the CryptoClient's tracking current. */
  forSync(ownUserId: string): SyncCrypto | undefined {
    const crypto = this.client.crypto;
    if (crypto === undefined) return undefined;
    return {
      client: this.client,
      crypto,
      EncryptedRoomEvent: this.sdk.EncryptedRoomEvent,
      ownUserId,
      announcedJoins: this.announcedJoins,
    };
  }
}
