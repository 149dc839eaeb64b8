/**
 * Bytes that arrive in arbitrary pieces (TCP chunks, WRTE payloads) and are read back as whole
 * frames. Both the transport and the sync protocol need this: neither lines its frames up with
 * the pieces it is handed.
 */
export class ByteQueue {
  #chunks: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The first `n` bytes, left in place; undefined until that many are here. */
  peek(n: number): Buffer | undefined {
    if (n > this.#length) return undefined;
    this.#gather(n);
    return this.#chunks[0]!.subarray(0, n);
  }

  /** The first `n` bytes, removed; undefined (and nothing removed) until that many are here. */
  take(n: number): Buffer | undefined {
    const head = this.peek(n);
    if (head === undefined) return undefined;
    const first = this.#chunks[0]!;
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#length -= n;
    return head;
  }

  /** Everything queued, removed. */
  takeAll(): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#length);
    this.#chunks = [];
    this.#length = 0;
    return all;
  }

  /** Makes the first chunk at least `n` bytes long, copying only the chunks needed for that. */
  #gather(n: number): void {
    if (this.#chunks[0]!.length >= n) return;
    let count = 0;
    let size = 0;
    while (size < n) size += this.#chunks[count++]!.length;
    this.#chunks.splice(0, count, Buffer.concat(this.#chunks.slice(0, count), size));
  }
}
