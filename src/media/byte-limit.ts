import { Transform, type TransformCallback } from 'node:stream';

/** Why a ByteLimit stopped a stream. */
export type ByteLimitBreach = 'over-cap' | 'over-length' | 'short';

export class ByteLimitError extends Error {
  override readonly name = 'ByteLimitError';
  constructor(readonly breach: ByteLimitBreach) {
    super(`byte limit: ${breach}`);
  }
}

/**
 * Passes bytes through up to `maxBytes`, and, when the size was declared (Content-Length), exactly
 * that many: a body that grows past either, or ends short of its declared length, fails the stream
 * (the pipeline then destroys both ends), so a response never carries more or fewer bytes than
 * its own Content-Length says.
 */
export class ByteLimit extends Transform {
  #count = 0;
  readonly #maxBytes: number;
  readonly #declared: number | undefined;

  constructor(maxBytes: number, declared: number | undefined) {
    super();
    this.#maxBytes = maxBytes;
    this.#declared = declared;
  }

  get count(): number {
    return this.#count;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#count += chunk.length;
    if (this.#count > this.#maxBytes) return callback(new ByteLimitError('over-cap'));
    if (this.#declared !== undefined && this.#count > this.#declared)
      return callback(new ByteLimitError('over-length'));
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#declared !== undefined && this.#count < this.#declared)
      return callback(new ByteLimitError('short'));
    callback();
  }
}
