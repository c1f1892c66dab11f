import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { logStateChange } from '../core/supervisor.js';
import type {
  AdapterCapabilities,
  AdapterEvents,
  AdapterState,
  AdapterStatus,
  ChatAdapter,
  SendResult,
  WireListener,
} from '../core/adapter.js';
import type { ChatMessage, OutboundPiece, Protocol } from '../core/message.js';

/** Confirmed piece ids remembered per adapter, so a repeated send() does not deliver twice. */
const CONFIRMED_IDS = 2_000;

/**
 * Shared plumbing for adapters: typed events and the status with its one log line per change
 * (issue: "One info line per connection state change"; the wording is core/supervisor.ts's).
 */
export abstract class BaseAdapter extends EventEmitter implements ChatAdapter {
  abstract readonly protocol: Protocol;
  abstract readonly capabilities: AdapterCapabilities;
  private current: AdapterStatus = { state: 'disconnected', since: new Date() };
  private readonly sending = new Map<string, Promise<SendResult>>();
  private readonly confirmed = new Map<string, SendResult>();
  private currentChannels: readonly string[];

  protected constructor(
    readonly account: string,
    channels: readonly string[],
    protected readonly log: Logger,
  ) {
    super();
    this.currentChannels = [...channels];
  }

  /** The channels this adapter serves; an adapter that can join and leave at run time changes them. */
  get channels(): readonly string[] {
    return this.currentChannels;
  }

  protected setChannels(channels: readonly string[]): void {
    this.currentChannels = [...channels];
  }

  abstract start(): Promise<void>;
  abstract stop(deadlineMs: number): Promise<void>;
  /** Puts one piece on the wire and resolves once the network confirmed it (see ChatAdapter.send). */
  protected abstract deliver(piece: OutboundPiece, onWire: WireListener): Promise<SendResult>;

  /** The contract's idempotency, in one place for every adapter: one delivery per piece id. */
  send(piece: OutboundPiece, onWire: WireListener): Promise<SendResult> {
    const done = this.confirmed.get(piece.id);
    if (done !== undefined) return Promise.resolve(done);
    const running = this.sending.get(piece.id);
    if (running !== undefined) return running;
    const delivery = this.deliver(piece, onWire).then(
      (result) => {
        this.sending.delete(piece.id);
        this.confirmed.set(piece.id, result);
        if (this.confirmed.size > CONFIRMED_IDS) {
          const oldest = this.confirmed.keys().next().value;
          if (oldest !== undefined) this.confirmed.delete(oldest);
        }
        return result;
      },
      (error: unknown) => {
        this.sending.delete(piece.id);
        throw error;
      },
    );
    this.sending.set(piece.id, delivery);
    return delivery;
  }

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
