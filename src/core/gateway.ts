/** A gateway as the router sees it (matterbridge's [[gateway]]); the config layer builds these. */
export type Direction = 'in' | 'out' | 'inout';

export interface GatewayEndpoint {
  readonly account: string;
  readonly channel: string;
  readonly direction: Direction;
}

export interface Gateway {
  readonly name: string;
  readonly endpoints: readonly GatewayEndpoint[];
}
