import pino from 'pino';
import { BaseAdapter } from '../../src/adapters/base-adapter.js';
import type { AdapterCapabilities } from '../../src/adapters/types.js';
import type { ChatMessage, OutboundMessage, Protocol } from '../../src/core/message.js';

/** An in-memory adapter implementing our ChatAdapter contract, for core tests (no network). */
export class FakeAdapter extends BaseAdapter {
  readonly capabilities: AdapterCapabilities = { formatting: 'plain', maxMessageBytes: 4096, edits: false };
  readonly sent: OutboundMessage[] = [];
  /** Set to make the next send() calls fail; returns the error to throw, or undefined to succeed. */
  failWith: ((message: OutboundMessage) => Error | undefined) | undefined;
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

  send(message: OutboundMessage): Promise<void> {
    const error = this.failWith?.(message);
    if (error !== undefined) return Promise.reject(error);
    this.sent.push(message);
    return Promise.resolve();
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
