import { describe, expect, it } from 'vitest';
import {
  byteLength,
  refitLine,
  renderLine,
  splitToBytes,
  textBudget,
  truncateToBytes,
  type IrcLineKind,
  type RenderedLine,
} from '../../src/adapters/irc/split.js';
import { splitForDestination } from '../../src/core/pieces.js';

interface RenderRequest {
  readonly kind: IrcLineKind;
  readonly target: string;
  readonly prefix: string;
  readonly body: string;
  readonly sourceBytes: number;
  readonly maxLineBytes: number;
  readonly maxLines: number;
  readonly cutMarker: string;
}

/**
 * A message's way to IRC lines in production: the core splits it from the IRC adapter's
 * capabilities (IrcAdapter.capabilities: the text budget of the connection), the adapter renders
 * each piece as a line and fits it to the connection it is written on.
 */
function renderMessage(r: RenderRequest): { lines: RenderedLine[]; cutLines: number } {
  const split = splitForDestination(r.body, r.prefix, {
    formatting: 'irc',
    maxMessageBytes: textBudget({ ...r, kind: 'text' }),
    multiline: false,
    maxPieces: r.maxLines,
    cutMarker: r.cutMarker,
    inFlight: 1,
    edits: false,
  });
  const lines = split.texts.flatMap((piece) =>
    refitLine(
      renderLine({ kind: r.kind, target: r.target, prefix: split.prefix, piece }),
      r.sourceBytes,
      r.maxLineBytes,
    ),
  );
  return { lines, cutLines: split.cut };
}

const base: RenderRequest = {
  kind: 'text',
  target: '#movienight',
  prefix: '[kosmi] <bob> ',
  body: '',
  sourceBytes: byteLength(':relay!~relay@127.0.0.1 '),
  maxLineBytes: 512,
  maxLines: 8,
  cutMarker: ' [...]',
};

/** The line as the server relays it, with CR LF. */
function relayed(request: RenderRequest, wire: string): number {
  return request.sourceBytes + byteLength(wire) + 2;
}

describe('IRC splitting', () => {
  it('keeps a short message on one line with the prefix', () => {
    const { lines, cutLines } = renderMessage({ ...base, body: 'hello' });
    expect(lines.map(({ wire, text }) => ({ wire, text }))).toEqual([
      { wire: 'PRIVMSG #movienight :[kosmi] <bob> hello', text: '[kosmi] <bob> hello' },
    ]);
    expect(cutLines).toBe(0);
  });

  it('splits a ~450-byte multibyte line into two, each with the prefix and within 512 bytes relayed', () => {
    const words = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0 ? 'héllo' : i % 3 === 1 ? 'wörld' : '日本語',
    ).join(' ');
    const body = `${words} 🎉👍🏽 end`;
    expect(byteLength(body)).toBeGreaterThan(400);
    const request = { ...base, body };
    const { lines } = renderMessage(request);
    expect(lines.length).toBe(2);
    for (const line of lines) {
      expect(line.text.startsWith(base.prefix)).toBe(true);
      expect(relayed(request, line.wire)).toBeLessThanOrEqual(512);
      expect(line.text).not.toContain('\uFFFD');
    }
    expect(lines.map((l) => l.text.slice(base.prefix.length)).join(' ')).toBe(body);
  });

  it('fills lines to the byte bound exactly for text without spaces, never tearing a character', () => {
    const body = 'é'.repeat(1000) + '👍🏽'.repeat(50);
    const request = { ...base, body, maxLines: 100 };
    const { lines } = renderMessage(request);
    const pieces = lines.map((l) => l.text.slice(base.prefix.length));
    expect(pieces.join('')).toBe(body);
    for (const line of lines) expect(relayed(request, line.wire)).toBeLessThanOrEqual(512);
    expect(relayed(request, lines[0]?.wire ?? '')).toBeGreaterThanOrEqual(510);
  });

  it('accounts for the CTCP ACTION wrapping and NOTICE command', () => {
    const body = 'x '.repeat(400);
    for (const kind of ['action', 'notice'] as const) {
      const request = { ...base, kind, body, maxLines: 10 };
      const { lines } = renderMessage(request);
      for (const line of lines) expect(relayed(request, line.wire)).toBeLessThanOrEqual(512);
      if (kind === 'action')
        expect(lines[0]?.wire.startsWith('PRIVMSG #movienight :\x01ACTION [kosmi] <bob> x x')).toBe(true);
      else expect(lines[0]?.wire.startsWith('NOTICE #movienight :[kosmi]')).toBe(true);
    }
    expect(textBudget({ ...base, kind: 'action' })).toBe(textBudget(base) - 9);
  });

  it('uses a conservative source size: a longer hostmask leaves less room', () => {
    const long = renderMessage({
      ...base,
      body: 'a'.repeat(1000),
      sourceBytes: 1 + 30 + 1 + 10 + 1 + 63 + 1,
      maxLines: 10,
    });
    const short = renderMessage({ ...base, body: 'a'.repeat(1000), maxLines: 10 });
    expect(long.lines[0]!.text.length).toBeLessThan(short.lines[0]!.text.length);
  });

  it('turns each line of a multi-line message into its own IRC line and marks a cut', () => {
    const body = Array.from({ length: 12 }, (_, i) => `line ${i}`).join('\n');
    const { lines, cutLines } = renderMessage({ ...base, body, maxLines: 3 });
    expect(lines.map((l) => l.text)).toEqual([
      '[kosmi] <bob> line 0',
      '[kosmi] <bob> line 1',
      '[kosmi] <bob> line 2 [...]',
    ]);
    expect(cutLines).toBe(9);
  });

  it('never lets CR, LF, NUL or \\x01 reach the socket inside a line', () => {
    const body = 'a\r\nQUIT :owned\rb\0c\x01d\ne';
    const { lines } = renderMessage({ ...base, body, prefix: '<ev\nil\r> ' });
    for (const line of lines) expect(line.wire).not.toMatch(/[\r\n\0]/);
    for (const line of lines) expect(line.wire.slice(line.wire.indexOf(':') + 1)).not.toContain('\x01');
    expect(lines.map((l) => l.text)).toEqual([
      '<ev il > a',
      '<ev il > QUIT :owned',
      '<ev il > b c d',
      '<ev il > e',
    ]);
  });

  it('drops empty lines and sends nothing for an empty message', () => {
    expect(renderMessage({ ...base, body: '\n  \n' }).lines).toEqual([]);
    expect(renderMessage({ ...base, body: 'a\n\nb' }).lines.map((l) => l.text)).toEqual([
      '[kosmi] <bob> a',
      '[kosmi] <bob> b',
    ]);
  });

  it('truncates an absurdly long prefix so text still fits', () => {
    const request = { ...base, prefix: 'p'.repeat(600), body: 'hello world' };
    const { lines } = renderMessage(request);
    for (const line of lines) expect(relayed(request, line.wire)).toBeLessThanOrEqual(512);
    expect(lines.map((l) => l.text).join('')).toContain('hello');
  });

  it('keeps mIRC colour codes whole', () => {
    const unit = '\x0304,12red\x03 ';
    const pieces = splitToBytes(unit.repeat(100), 50);
    expect(pieces.length).toBeGreaterThan(5);
    for (const piece of pieces) expect(piece.replaceAll('\x0304,12', '')).not.toMatch(/\d/);
  });

  it('truncateToBytes cuts at a character boundary', () => {
    expect(truncateToBytes('aé', 2)).toBe('a');
    expect(truncateToBytes('a👍🏽x', 8)).toBe('a');
    expect(truncateToBytes('a👍🏽x', 9)).toBe('a👍🏽');
    expect(truncateToBytes('abc', 10)).toBe('abc');
  });
});
