import pino from 'pino';
import { BaseAdapter } from '../../src/adapters/base-adapter.js';
import type { AdapterCapabilities, SendResult, WireListener } from '../../src/core/adapter.js';
import type { ChatMessage, OutboundPiece, Protocol } from '../../src/core/message.js';

/** An in-memory adapter implementing our ChatAdapter contract, for core tests (no network). */
export class FakeAdapter extends BaseAdapter {
  capabilities: AdapterCapabilities = {
    formatting: 'plain',
    maxMessageBytes: 4096,
    multiline: true,
    inFlight: 1,
    edits: false,
  };
  readonly sent: OutboundPiece[] = [];
  /** Set to make the next send() calls fail; returns the error to throw, or undefined to succeed. */
  failWith: ((piece: OutboundPiece) => Error | undefined) | undefined;
  /** The network id each delivered piece gets (the message map records it). */
  networkIdOf: ((piece: OutboundPiece) => string | undefined) | undefined;
  stopped = false;
  private counter = 0;

  constructor(
    account: string,
    readonly protocol: Protocol,
    channels: readonly string[] = [],
  ) {
    super(account, channels, pino({ level: 'silent' }));
  }

  start(): Promise<void> {
    this.setStatus('connected');
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.setStatus('disconnected', 'stopped');
    return Promise.resolve();
  }

  protected deliver(piece: OutboundPiece, onWire: WireListener): Promise<SendResult> {
    const error = this.failWith?.(piece);
    if (error !== undefined) return Promise.reject(error);
    const wire = piece.prefix + piece.text;
    onWire(wire);
    this.sent.push(piece);
    const networkId = this.networkIdOf?.(piece);
    return Promise.resolve({ wire: [wire], ...(networkId === undefined ? {} : { networkId }) });
  }

  connect(): void {
    this.setStatus('connected');
  }

  disconnect(reason = 'test'): void {
    this.setStatus('disconnected', reason);
  }

  /** Simulates a user speaking in a channel of this account. */
  receive(channel: string, text: string, nick = 'alice', extra: Partial<ChatMessage> = {}): void {
    this.counter += 1;
    this.emitMessage({
      id: `${this.account}-${this.counter}`,
      kind: 'text',
      text,
      sender: { nick },
      source: { account: this.account, channel },
      timestamp: new Date(),
      ...extra,
    });
  }
}
