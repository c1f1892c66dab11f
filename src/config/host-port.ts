/** A network address as written in relay.toml: "host:port", "host", "[v6]:port" or "[v6]". */
export interface HostPort {
  readonly host: string;
  /** Absent when the text names none (the caller knows the default). */
  readonly port?: number;
}

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+))(?::(\d{1,5}))?$/;

/** The one parser of host:port in the relay; undefined for text that is not one. */
export function parseHostPort(text: string): HostPort | undefined {
  const match = HOST_PORT.exec(text.trim());
  if (match === null) return undefined;
  const host = match[1] ?? match[2] ?? '';
  if (match[3] === undefined) return { host };
  const port = Number(match[3]);
  return port > 65_535 ? undefined : { host, port };
}
