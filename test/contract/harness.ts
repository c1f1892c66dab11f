import type { AdapterStatus, ChatAdapter } from '../../src/core/adapter.js';

/** One message as the peer (the other side of the network) holds it. */
export interface ArrivedMessage {
  /** The text a person on the network sees: IRC PRIVMSG text, Kosmi message body, Matrix body. */
  readonly text: string;
  /** The peer's own id for it, where the peer assigns one (Matrix event id, Kosmi message id). */
  readonly networkId?: string;
}

/**
 * What the shared contract suite needs from one adapter: the adapter (not started), its peer, and
 * the switches that take the peer away. One harness per test: every test starts its own peer, on
 * free loopback ports, with unique nicks and rooms.
 */
export interface ContractHarness {
  /** Made, not started: the suite attaches its listeners first. */
  readonly adapter: ChatAdapter;
  /** The channel of the adapter the pieces go to, as configured. */
  readonly channel: string;
  /** Every status event the adapter emitted since it was made, in order. */
  readonly statuses: AdapterStatus[];
  /** Resolves once the adapter says connected and the peer shows it in the channel. */
  ready(): Promise<void>;
  /** What arrived on the peer side from the relay account in the channel, in arrival order. */
  arrived(): ArrivedMessage[];
  /**
   * Connections the adapter opened to the peer and wrote to so far (counted at a PeerGate in front
   * of the peer): a reconnect always writes (IRC registration, WebSocket upgrade, HTTP request).
   */
  connectionsUsed(): number;
  /** The peer goes away and stays away: connections are cut and new ones fail. */
  takePeerAway(): Promise<void>;
  /** The peer accepts TCP connections but answers nothing; open connections go silent. */
  silencePeer(): void;
  /** Undoes takePeerAway() or silencePeer(): the peer answers again. */
  bringPeerBack(): Promise<void>;
  /** Stops the adapter, the peer and every helper process or socket. Idempotent. */
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** The peer is silent before the adapter starts (silencePeer() already called). */
  readonly silentFromStart?: boolean;
}

export type HarnessFactory = (options?: HarnessOptions) => Promise<ContractHarness>;

/**
 * What an adapter really returns as SendResult.networkId (contract: "where there is one"):
 * 'peer-id': the id the peer stored the message under; 'none': no id, and `why` says why not.
 */
export type NetworkIdBehaviour =
  { readonly kind: 'peer-id' } | { readonly kind: 'none'; readonly why: string };

/** The suite's tests, by the numbers of issue 7 §5 (letters: the extra cases of a point). */
export type ContractPoint = '1a' | '1b' | '2' | '3' | '3b' | '4' | '5' | '6a' | '6b' | '6c';

export interface AdapterProfile {
  readonly make: HarnessFactory;
  readonly networkId: NetworkIdBehaviour;
  /**
   * Contract points this adapter is known to break today, each with where and why. The shared
   * test then runs as `it.fails` under a title that says so: it goes red the day the adapter is
   * fixed, so the entry cannot outlive the bug. The adapter's own file asserts what it really does.
   */
  readonly knownViolations?: Partial<Record<ContractPoint, string>>;
}
