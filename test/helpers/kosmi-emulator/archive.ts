import type { EmulatedMessage } from './state.js';

/** What the emulator's chatArchive leaves out (tests of a server whose archive cannot be used). */
export type ArchiveFields = 'full' | 'no-ids' | 'no-times';

export interface ArchivePage {
  readonly forwardCursor: string | null;
  readonly backCursor: string | null;
  readonly results: readonly (Omit<EmulatedMessage, 'id' | 'time'> & {
    id: string | null;
    time: number | null;
  })[];
}

/**
 * chatArchive (docs/kosmi-protocol.md §4.7) with cursors: `cursor` null is the newest page;
 * `backCursor` names the page before it and `forwardCursor` the page after (null at either end).
 * Results are oldest first. Cursors are opaque strings to the client; here they are "before:N" and
 * "after:N", N an index into the room's messages (which are only ever appended).
 */
export function archivePage(
  messages: readonly EmulatedMessage[],
  cursor: string | null | undefined,
  pageSize: number,
  fields: ArchiveFields,
): ArchivePage {
  const match = /^(before|after):(\d+)$/.exec(cursor ?? '');
  let start: number;
  let end: number;
  if (match === null) {
    end = messages.length;
    start = Math.max(0, end - pageSize);
  } else if (match[1] === 'before') {
    end = Math.min(messages.length, Number(match[2]));
    start = Math.max(0, end - pageSize);
  } else {
    start = Math.min(messages.length, Number(match[2]));
    end = Math.min(messages.length, start + pageSize);
  }
  return {
    backCursor: start > 0 ? `before:${start}` : null,
    forwardCursor: end < messages.length ? `after:${end}` : null,
    results: messages.slice(start, end).map((m) => ({
      ...m,
      id: fields === 'no-ids' ? null : m.id,
      time: fields === 'no-times' ? null : m.time,
    })),
  };
}
