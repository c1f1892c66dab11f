import type { Gateway } from './gateway.js';
import type { OutboundPiece } from './message.js';

export interface Route {
  readonly gateway: string;
  readonly account: string;
  readonly channel: string;
}

export interface RouteTable {
  /** Source key (account + channel) -> the destinations a message from it goes to. */
  readonly routes: ReadonlyMap<string, readonly Route[]>;
  /** Lower-cased source key -> configured key, for networks whose names fold case (IRC). */
  readonly folded: ReadonlyMap<string, string>;
  /** Every destination channel's key, in gateway order: one DeliveryQueue each. */
  readonly destinations: readonly { readonly account: string; readonly channel: string }[];
}

export const routeKey = (account: string, channel: string): string => `${account}\u0000${channel}`;

/**
 * A message from an in/inout entry goes to every out/inout entry of every gateway its source
 * belongs to, never back to its source, each destination once.
 */
export function buildRoutes(gateways: readonly Gateway[]): RouteTable {
  const routes = new Map<string, Route[]>();
  const folded = new Map<string, string>();
  const destinations = new Map<string, { account: string; channel: string }>();
  for (const gateway of gateways) {
    for (const source of gateway.endpoints) {
      if (source.direction === 'out') continue;
      const sourceKey = routeKey(source.account, source.channel);
      const list = routes.get(sourceKey) ?? [];
      for (const destination of gateway.endpoints) {
        if (destination.direction === 'in') continue;
        if (destination.account === source.account && destination.channel === source.channel) continue;
        if (list.some((r) => r.account === destination.account && r.channel === destination.channel))
          continue;
        list.push({ gateway: gateway.name, account: destination.account, channel: destination.channel });
      }
      routes.set(sourceKey, list);
      folded.set(sourceKey.toLowerCase(), sourceKey);
    }
    // Every endpoint gets a queue, as before reloads existed (an 'in' endpoint's stays empty).
    for (const { account, channel } of gateway.endpoints)
      destinations.set(routeKey(account, channel), { account, channel });
  }
  return { routes, folded, destinations: [...destinations.values()] };
}

/** A stored piece back into an OutboundPiece; a row the code cannot read is dropped (and said). */
export function parsePiece(payload: string): OutboundPiece | undefined {
  try {
    const value = JSON.parse(payload) as Partial<OutboundPiece> | null;
    if (
      value === null ||
      typeof value.id !== 'string' ||
      typeof value.messageId !== 'string' ||
      typeof value.text !== 'string' ||
      typeof value.prefix !== 'string' ||
      typeof value.channel !== 'string'
    )
      return undefined;
    return value as OutboundPiece;
  } catch {
    return undefined; // counted and logged by the caller as an orphan
  }
}
