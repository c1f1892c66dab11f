/**
 * The Kosmi id of a message the relay sent. sendMessage answers `{ ok }` only (docs/kosmi-protocol.md
 * §4.6): the id exists only in the newMessage event Kosmi sends every member of the room, the
 * sender included (§10: the old relay had to drop its own messages). So a send waits, briefly, for
 * its own message to come back: same room, same user, same body; the first one waiting takes it.
 */

/** How long a send waits for its echo after Kosmi's ok; without one, the send has no id. */
export const ECHO_WAIT_MS = 2_000;

interface Waiting {
  readonly roomId: string;
  readonly body: string;
  id?: string;
  wake?: () => void;
}

export class SentEchoes {
  private readonly waiting: Waiting[] = [];

  /**
   * Call before the message goes out (the echo may arrive before the mutation's answer). `wait()`
   * resolves with the id, or undefined after `timeoutMs` (or at once when `signal` aborts).
   */
  expect(
    roomId: string,
    body: string,
  ): { wait(timeoutMs: number, signal?: AbortSignal): Promise<string | undefined>; cancel(): void } {
    const entry: Waiting = { roomId, body };
    this.waiting.push(entry);
    const cancel = (): void => {
      const index = this.waiting.indexOf(entry);
      if (index >= 0) this.waiting.splice(index, 1);
    };
    const wait = async (timeoutMs: number, signal?: AbortSignal): Promise<string | undefined> => {
      if (entry.id === undefined && signal?.aborted !== true) {
        let timer: NodeJS.Timeout | undefined;
        const onAbort = (): void => entry.wake?.();
        await new Promise<void>((resolve) => {
          entry.wake = resolve;
          timer = setTimeout(resolve, timeoutMs);
          signal?.addEventListener('abort', onAbort, { once: true });
        });
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      cancel();
      return entry.id;
    };
    return { wait, cancel };
  }

  /** One of the relay's own messages arrived: true when a send was waiting for it. */
  match(roomId: string, body: string, id: string): boolean {
    const entry = this.waiting.find((w) => w.id === undefined && w.roomId === roomId && w.body === body);
    if (entry === undefined) return false;
    entry.id = id;
    entry.wake?.();
    return true;
  }
}
