/**
 * Splits a message body into pieces of at most maxBytes UTF-8 bytes, at whitespace where there is
 * some in the second half of a piece, never inside a code point (kosmi-protocol.md §9: no length
 * limit is documented, so the limit is max_message_bytes).
 */
export function splitMessage(body: string, maxBytes: number): string[] {
  if (Buffer.byteLength(body, 'utf8') <= maxBytes) return [body];
  const pieces: string[] = [];
  let rest = body;
  while (Buffer.byteLength(rest, 'utf8') > maxBytes) {
    let cut = 0;
    let bytes = 0;
    for (const char of rest) {
      const size = Buffer.byteLength(char, 'utf8');
      if (bytes + size > maxBytes) break;
      bytes += size;
      cut += char.length;
    }
    const head = rest.slice(0, cut);
    const space = head.search(/\s\S*$/);
    if (space > cut / 2) cut = space;
    pieces.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest !== '') pieces.push(rest);
  return pieces.filter((piece) => piece !== '');
}
