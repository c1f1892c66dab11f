import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ChatMessage, OutboundMessage, Protocol } from '../core/message.js';
import { logStateChange } from '../core/supervisor.js';
import type {
  AdapterCapabilities,
  AdapterEvents,
  AdapterState,
  AdapterStatus,
  ChatAdapter,
} from './types.js';

/**
 * Shared plumbing for adapters: typed events and the status with its one log line per change
 * (issue: "One info line per connection state change"; the wording is core/supervisor.ts's).
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

  /**
   * Changes the state; logs (core/supervisor.ts vocabulary) and emits only when state or reason
   * changed. For changes inside a connection (a renewal); the supervisor uses applyStatus.
   */
  protected setStatus(state: AdapterState, reason?: string): void {
    if (this.applyStatus(state, reason)) logStateChange(this.log, state, { reason });
  }

  /** Changes the state and emits it, without a log line (the caller logs); true when it changed. */
  protected applyStatus(state: AdapterState, reason?: string): boolean {
    if (this.current.state === state && this.current.reason === reason) return false;
    this.current = reason === undefined ? { state, since: new Date() } : { state, since: new Date(), reason };
    this.emit('status', this.current);
    return true;
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
