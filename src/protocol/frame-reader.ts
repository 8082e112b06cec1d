import { Readable } from 'node:stream';
import { FdfsError, Status } from '../common/index.js';
import { HEADER_SIZE, MAX_CONTROL_BODY } from './constants.js';
import { decodeHeader, type Header } from './header.js';

/** Where a FrameReader's chunks come from: next() resolves undefined at the end. */
interface ChunkSource {
  next(): Promise<Buffer | undefined>;
}

class IteratorSource implements ChunkSource {
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  async next(): Promise<Buffer | undefined> {
    const r = await this.it.next();
    return r.done ? undefined : r.value;
  }
}

/**
 * Bytes queued past which the socket stops reading until the reader catches up. Every socket read
 * is a fresh 64 KB Buffer that only a V8 collection frees, so what waits here is multiplied by the
 * connection count: 64 concurrent 128 MB uploads peaked at 175-247 MB RSS with 256 KB, 172-190 MB
 * with 64 KB (and durable.ts's gather limit halved), at the same throughput (the disk's). 64
 * concurrent 256 MB uploads: 187-195 MB with 64 KB, 155-162 MB with 16 KB (the bytes wait in the
 * kernel's socket buffer instead), 516-581 MB/s against 478-563; halving the gather limit again
 * changed nothing (186-190 MB).
 */
const QUEUE_LIMIT = 16 * 1024;

/**
 * A readable stream's 'data' events into a queue the reader pulls from. A profile of small
 * requests showed the stream's async iterator (a promise, a 'readable' round and read() per
 * chunk) as a large part of a request's JS time; a listener and an array cost little. The
 * backpressure stays: past QUEUE_LIMIT queued bytes the stream is paused, and it resumes once
 * the reader has taken them. (No read(n) + 'readable' polling, which can starve the event loop.)
 */
class StreamSource implements ChunkSource {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: Error | undefined;
  private waiter: { resolve: (b: Buffer | undefined) => void; reject: (e: Error) => void } | undefined;
  /** Set while the reader waits for a packet's first byte: `intercept` may take whole packets. */
  boundary = false;
  intercept: ((c: Buffer) => Buffer | undefined) | undefined;

  constructor(private readonly stream: Readable) {
    stream.on('data', (c: Buffer) => {
      const w = this.waiter;
      if (w) {
        if (this.boundary && this.intercept) {
          const rest = this.intercept(c);
          if (rest === undefined) return; // every byte answered; the reader keeps waiting
          c = rest;
        }
        this.waiter = undefined;
        w.resolve(c);
        return;
      }
      this.queue.push(c);
      this.queued += c.length;
      if (this.queued > QUEUE_LIMIT) stream.pause();
    });
    stream.on('end', () => this.finish());
    stream.on('error', (err: Error) => this.finish(err));
    stream.on('close', () => this.finish());
    // A stream that closed before this reader came sends no more events: without this the
    // reader would wait for them forever. (A storage worker reads a connection only once the
    // storage admits it; its own shutdown could end the socket in that gap.)
    if (stream.destroyed || stream.readableEnded) this.finish(stream.errored ?? undefined);
  }

  private finish(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    const w = this.waiter;
    this.waiter = undefined;
    if (!w) return;
    if (err) w.reject(err);
    else w.resolve(undefined);
  }

  next(): Promise<Buffer | undefined> {
    const c = this.queue.shift();
    if (c) {
      this.queued -= c.length;
      if (this.queued <= QUEUE_LIMIT && this.stream.isPaused() && !this.ended) this.stream.resume();
      return Promise.resolve(c);
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(undefined);
    if (this.stream.isPaused()) this.stream.resume();
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }
}

/**
 * Takes whole packets at the front of a chunk as it arrives, synchronously, and returns what it
 * left (undefined: nothing). See FrameReader.setFastPath.
 */
export type ChunkIntercept = (chunk: Buffer) => Buffer | undefined;

/**
 * Pull-based reader over a socket (or any chunk stream). It keeps the unconsumed tail of the last
 * chunk; pulling only when asked is the backpressure (see StreamSource).
 */
export class FrameReader {
  private readonly source: ChunkSource;
  private leftover: Buffer | undefined;
  private ended = false;
  /** Bytes handed out so far; lets a server tell whether a handler consumed a whole body. */
  consumed = 0;

  constructor(
    source: AsyncIterable<Buffer>,
    private readonly peer = '',
  ) {
    this.source = source instanceof Readable ? new StreamSource(source) : new IteratorSource(source);
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
    const c = await this.source.next();
    if (!c) {
      this.ended = true;
      return undefined;
    }
    this.consumed += c.length;
    return c;
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

  /**
   * While readHeader waits with nothing buffered, each arriving chunk goes to `intercept` first,
   * straight from the stream's 'data' event: a server answers small complete requests there
   * without a promise, a microtask or an async resume per request (which profiles of 4 KB
   * downloads showed as most of a request's JS time). Only a stream source offers it.
   */
  setFastPath(intercept: ChunkIntercept): void {
    if (!(this.source instanceof StreamSource)) return;
    this.source.intercept = (c) => {
      const rest = intercept(c);
      this.consumed += c.length - (rest?.length ?? 0);
      return rest;
    };
  }

  /** The next header, or null when the peer closed cleanly between packets. */
  async readHeader(): Promise<Header | null> {
    if (!this.leftover) {
      const src = this.source;
      if (src instanceof StreamSource) src.boundary = true;
      let first: Buffer | undefined;
      try {
        first = await this.pull();
      } finally {
        if (src instanceof StreamSource) src.boundary = false;
      }
      if (!first) return null;
      this.unshift(first);
    }
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
