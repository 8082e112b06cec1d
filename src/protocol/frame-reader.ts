import { Readable } from 'node:stream';
import { FdfsError, Status } from '../common/index.js';
import { HEADER_SIZE, MAX_CONTROL_BODY } from './constants.js';
import { decodeHeader, type Header } from './header.js';

/**
 * Pull-based reader over a socket. It iterates the stream (no read(n)/'readable' polling, which
 * starves the event loop) and keeps the unconsumed tail of the last chunk. Pulling only when asked
 * is the backpressure: while nobody reads, the socket stays paused.
 */
export class FrameReader {
  private readonly it: AsyncIterator<Buffer>;
  private leftover: Buffer | undefined;
  private ended = false;
  /** Bytes handed out so far; lets a server tell whether a handler consumed a whole body. */
  consumed = 0;

  constructor(
    source: AsyncIterable<Buffer>,
    private readonly peer = '',
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Next chunk, or undefined at end of stream. */
  private async pull(): Promise<Buffer | undefined> {
    if (this.leftover) {
      const b = this.leftover;
      this.leftover = undefined;
      this.consumed += b.length;
      return b;
    }
    if (this.ended) return undefined;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return undefined;
    }
    this.consumed += r.value.length;
    return r.value;
  }

  private unshift(b: Buffer): void {
    this.consumed -= b.length;
    if (b.length > 0) this.leftover = this.leftover ? Buffer.concat([b, this.leftover]) : b;
  }

  private truncated(n: number, got: number): FdfsError {
    return new FdfsError(Status.ECONNRESET, `connection closed after ${got} of ${n} expected bytes`, {
      peer: this.peer,
    });
  }

  /** Exactly n bytes; n must already be checked against a cap by the caller. */
  async readExact(n: number): Promise<Buffer> {
    if (n === 0) return Buffer.alloc(0);
    const first = await this.pull();
    if (!first) throw this.truncated(n, 0);
    if (first.length >= n) {
      this.unshift(first.subarray(n));
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    first.copy(out, 0);
    let got = first.length;
    while (got < n) {
      const c = await this.pull();
      if (!c) throw this.truncated(n, got);
      const take = Math.min(c.length, n - got);
      c.copy(out, got, 0, take);
      got += take;
      if (take < c.length) this.unshift(c.subarray(take));
    }
    return out;
  }

  /** The next header, or null when the peer closed cleanly between packets. */
  async readHeader(): Promise<Header | null> {
    const first = await this.pull();
    if (!first) return null;
    this.unshift(first);
    return decodeHeader(await this.readExact(HEADER_SIZE), this.peer);
  }

  /** A control body: refused without allocating when over the cap. */
  async readBody(length: number, cap = MAX_CONTROL_BODY): Promise<Buffer> {
    if (length > cap) {
      throw new FdfsError(Status.EINVAL, `body of ${length} bytes exceeds the ${cap}-byte limit`, {
        peer: this.peer,
      });
    }
    return this.readExact(length);
  }

  /** Yields exactly n bytes in chunks as they arrive; fails if the stream ends early. */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      const c = await this.pull();
      if (!c) throw this.truncated(n, n - left);
      if (c.length > left) {
        this.unshift(c.subarray(left));
        yield c.subarray(0, left);
        return;
      }
      left -= c.length;
      yield c;
    }
  }

  /** n bytes as a Readable, for pipeline() into a file or socket. */
  stream(n: number): Readable {
    return Readable.from(this.take(n), { objectMode: false });
  }

  /** Reads and drops n bytes (e.g. the rest of a refused upload, to keep the connection in sync). */
  async skip(n: number): Promise<void> {
    for await (const _ of this.take(n)) {
      // discard
    }
  }
}
