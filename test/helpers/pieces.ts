import type { Logger } from 'pino';
import pino from 'pino';
import type { ChatAdapter, SendResult, WireListener } from '../../src/core/adapter.js';
import { DeliveryQueue, type QueueBounds } from '../../src/core/delivery-queue.js';
import type { OutboundPiece } from '../../src/core/message.js';
import { splitForDestination } from '../../src/core/pieces.js';
import { MemoryLedger } from './memory-ledger.js';

let counter = 0;

/** A piece as the router would hand it to an adapter (the one factory for every test). */
export function piece(channel: string, text: string, extra: Partial<OutboundPiece> = {}): OutboundPiece {
  counter += 1;
  const messageId = `t${process.pid}x${counter}x${Math.random().toString(36).slice(2, 8)}`;
  return {
    id: `${messageId}.0.0`,
    messageId,
    index: 0,
    count: 1,
    kind: 'text',
    text,
    nick: 'bob',
    prefix: '[kosmi] <bob> ',
    origin: { account: 'kosmi.main', channel: '@room', protocol: 'kosmi', gateway: 'g' },
    channel,
    timestamp: Date.now(),
    ...extra,
  };
}

/** What a piece relayed from IRC carries (prefix and origin), for adapters' send tests. */
export const FROM_IRC: Partial<OutboundPiece> = {
  prefix: '[irc] <bob> ',
  origin: { account: 'irc.test', channel: '#test', protocol: 'irc', gateway: 'g' },
};

/** A WireListener that keeps what it was told. */
export function wireLog(): WireListener & { readonly lines: string[] } {
  const lines: string[] = [];
  const listener = (text: string): void => {
    lines.push(text);
  };
  return Object.assign(listener, { lines });
}

/** The core's real DeliveryQueue for one adapter channel, on an in-memory ledger. */
export function deliveryQueue(
  adapter: ChatAdapter,
  channel: string,
  options: {
    bounds?: QueueBounds;
    logger?: Logger;
    kickOnConnect?: boolean;
    /** Fields every piece sent through `send` gets (prefix, origin). */
    defaults?: Partial<OutboundPiece>;
  } = {},
): { queue: DeliveryQueue; ledger: MemoryLedger; wire: string[]; send(text: string): void } {
  const ledger = new MemoryLedger();
  const wire = wireLog();
  const queue = new DeliveryQueue({
    adapter,
    channel,
    bounds: options.bounds ?? { maxMessages: 1000, maxAgeMs: 900_000 },
    store: ledger,
    log: options.logger ?? pino({ level: 'silent' }),
    onWire: wire,
    onDelivered: () => undefined,
  });
  if (options.kickOnConnect !== false) {
    adapter.on('status', (status) => {
      if (status.state === 'connected') queue.resume();
    });
  }
  return {
    queue,
    ledger,
    wire: wire.lines,
    send(text: string) {
      const p = piece(channel, text, options.defaults);
      ledger.addPieces([
        {
          id: p.id,
          messageId: p.messageId,
          account: adapter.account,
          channel,
          enqueuedAt: Date.now(),
          payload: JSON.stringify(p),
        },
      ]);
      queue.enqueue([{ piece: p, enqueuedAt: Date.now() }]);
    },
  };
}

/**
 * Splits a message for this adapter as the router does (core/pieces.ts) and sends the pieces one
 * after the other, each confirmed before the next; resolves with what each became.
 */
export async function sendText(
  adapter: ChatAdapter,
  channel: string,
  text: string,
  extra: Partial<OutboundPiece> = {},
  onWire: WireListener = () => undefined,
): Promise<SendResult[]> {
  const base = piece(channel, text, extra);
  const split = splitForDestination(text, base.prefix, adapter.capabilities);
  const results: SendResult[] = [];
  for (const [index, pieceText] of split.texts.entries()) {
    const next: OutboundPiece = {
      ...base,
      id: `${base.messageId}.0.${index}`,
      index,
      count: split.texts.length,
      text: pieceText,
      prefix: split.prefix,
    };
    results.push(await adapter.send(next, onWire));
  }
  return results;
}
