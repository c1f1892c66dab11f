import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ChatMessage, OutboundMessage, Protocol } from '../core/message.js';
import type {
  AdapterCapabilities,
  AdapterEvents,
  AdapterState,
  AdapterStatus,
  ChatAdapter,
} from './types.js';

/**
 * Shared plumbing for adapters: typed events and the status with its one info line per change
 * (issue: "One info line per connection state change").
 */
export abstract class BaseAdapter extends EventEmitter implements ChatAdapter {
  abstract readonly protocol: Protocol;
  abstract readonly capabilities: AdapterCapabilities;
  private current: AdapterStatus = { state: 'disconnected', since: new Date() };

  protected constructor(
    readonly account: string,
    readonly channels: readonly string[],
    protected readonly log: Logger,
  ) {
    super();
  }

  abstract start(): Promise<void>;
  abstract stop(deadlineMs: number): Promise<void>;
  abstract send(message: OutboundMessage): Promise<void>;

  status(): AdapterStatus {
    return this.current;
  }

  /** Changes the state; logs and emits only when state or reason changed. */
  protected setStatus(state: AdapterState, reason?: string): void {
    if (this.current.state === state && this.current.reason === reason) return;
    this.current = reason === undefined ? { state, since: new Date() } : { state, since: new Date(), reason };
    const fields = reason === undefined ? { state } : { state, reason };
    if (state === 'failed') this.log.error(fields, 'account failed');
    else if (state === 'disconnected') this.log.warn(fields, 'disconnected');
    else this.log.info(fields, state);
    this.emit('status', this.current);
  }

  protected emitMessage(message: ChatMessage): void {
    this.emit('message', message);
  }

  override on<E extends keyof AdapterEvents>(event: E, listener: AdapterEvents[E]): this {
    return super.on(event, listener);
  }

  override off<E extends keyof AdapterEvents>(event: E, listener: AdapterEvents[E]): this {
    return super.off(event, listener);
  }
}
