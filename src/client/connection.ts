/** One TCP connection to a tracker or storage: strictly one request, then one response. */
import { connect as netConnect, type Socket } from 'node:net';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  Cmd,
  cmdName,
  encodeHeader,
  encodePacket,
  FdfsError,
  FrameReader,
  type Header,
  MAX_CONTROL_BODY,
  Status,
  statusName,
  streamToSocket,
} from '../protocol/index.js';

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly connectTimeout: number;
  readonly networkTimeout: number;
  /** Source address for the outgoing connection (a storage binds its own bind_addr). */
  readonly localAddress?: string;
}

// Errors that carry a peer's status byte: an answer, not a transport failure (see isStatusReply).
const statusReplies = new WeakSet<object>();

/** True when `err` (or one of its causes) is a status reply read off the wire. */
export function isStatusReply(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (statusReplies.has(e)) return true;
  }
  return false;
}

export class Connection {
  readonly peer: string;
  private readonly reader: FrameReader;
  private broken = false;
  /** A request was sent and its response is not fully read yet. */
  private pending = false;
  /** Set while the connection idles in a pool; see park(). */
  private parked = false;
  private nextHeader: Promise<Header | null> | undefined;
  /** The content being sent, ended with the socket: its read may be what the send waits on. */
  private outgoing: Readable | undefined;
  /** Requests sent so far; more than 0 at acquire time means a reused connection. */
  requests = 0;
  lastUsed = Date.now();

  private constructor(
    readonly socket: Socket,
    readonly opts: ConnectOptions,
  ) {
    this.peer = `${opts.host}:${opts.port}`;
    this.reader = new FrameReader(socket, this.peer);
    socket.setNoDelay(true);
    socket.setTimeout(opts.networkTimeout);
    socket.on('timeout', () =>
      socket.destroy(
        new FdfsError(Status.ETIMEDOUT, `no answer from ${this.peer} within ${opts.networkTimeout} ms`),
      ),
    );
    socket.on('error', () => {
      this.broken = true;
    });
    socket.on('close', () => {
      this.broken = true;
    });
  }

  /** Connects; `signal` firing meanwhile destroys the socket and rejects with its reason. */
  static open(opts: ConnectOptions, signal?: AbortSignal): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const peer = `${opts.host}:${opts.port}`;
      if (signal?.aborted) {
        reject(new FdfsError(Status.ECANCELED, `connect to ${peer} aborted`, { cause: signal.reason, peer }));
        return;
      }
      const socket = netConnect({
        host: opts.host,
        port: opts.port,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      });
      const onAbort = () => {
        clearTimeout(timer);
        socket.destroy();
        reject(
          new FdfsError(Status.ECANCELED, `connect to ${peer} aborted`, { cause: signal?.reason, peer }),
        );
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(
          new FdfsError(
            Status.ETIMEDOUT,
            `connect to ${opts.host}:${opts.port} timed out after ${opts.connectTimeout} ms`,
          ),
        );
      }, opts.connectTimeout);
      socket.once('connect', () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.removeAllListeners('error');
        resolve(new Connection(socket, opts));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const status = err.code === 'ECONNREFUSED' ? Status.ECONNREFUSED : Status.EIO;
        reject(
          new FdfsError(status, `cannot connect to ${opts.host}:${opts.port}: ${err.message}`, {
            cause: err,
            peer: `${opts.host}:${opts.port}`,
          }),
        );
      });
    });
  }

  get usable(): boolean {
    return !this.broken && !this.socket.destroyed;
  }

  /** A response is still (partly) unread: the connection is out of step and cannot be reused. */
  get busy(): boolean {
    return this.pending;
  }

  private fail(err: unknown): never {
    this.kill();
    if (err instanceof FdfsError) throw err;
    throw new FdfsError(Status.EIO, `connection to ${this.peer} failed: ${(err as Error).message}`, {
      cause: err,
      peer: this.peer,
    });
  }

  private kill(): void {
    this.broken = true;
    this.parked = false;
    this.socket.destroy();
    this.outgoing?.destroy();
  }

  /**
   * Called by a pool when the connection goes idle. A server never speaks unasked, so a pending
   * header read that completes while parked means EOF, a reset or garbage: the link is stale and
   * is dropped now instead of failing the next request. The read is handed to the next request.
   */
  park(): void {
    if (!this.usable || this.pending || this.parked) return;
    this.parked = true;
    this.socket.setTimeout(0);
    // An idle pooled link must not keep the process alive once its work is done.
    this.socket.unref();
    const next = this.nextHeader ?? this.reader.readHeader();
    this.nextHeader = next;
    const stale = () => {
      if (this.parked) this.kill();
    };
    next.then(stale, stale);
  }

  unpark(): void {
    if (!this.parked) return;
    this.parked = false;
    this.socket.ref();
    this.socket.setTimeout(this.opts.networkTimeout);
  }

  /** Sends a request; a body stream, when given, follows the fixed part and must be exactly its size. */
  async send(
    cmd: number,
    fixed: Buffer,
    content?: { size: number; stream: Readable },
    status = 0,
  ): Promise<void> {
    this.unpark();
    this.lastUsed = Date.now();
    this.requests++;
    this.pending = true;
    try {
      if (!content) {
        await write(this.socket, encodePacket(cmd, fixed, status));
        return;
      }
      this.outgoing = content.stream;
      await write(
        this.socket,
        Buffer.concat([encodeHeader(fixed.length + content.size, cmd, status), fixed]),
      );
      await streamToSocket(exactLength(content.stream, content.size, this.peer), this.socket);
    } catch (err) {
      content?.stream.destroy();
      this.fail(err);
    } finally {
      this.outgoing = undefined;
    }
  }

  /** Reads a response header; a non-zero status becomes an FdfsError (the connection stays usable). */
  async readHeader(what: string): Promise<Header> {
    let h: Header | null;
    try {
      const next = this.nextHeader ?? this.reader.readHeader();
      this.nextHeader = undefined;
      h = await next;
    } catch (err) {
      this.fail(err);
    }
    if (!h)
      this.fail(
        new FdfsError(Status.ECONNRESET, `${this.peer} closed the connection during ${what}`, {
          peer: this.peer,
        }),
      );
    if (h.cmd !== Cmd.RESP) {
      this.fail(
        new FdfsError(
          Status.EINVAL,
          `${this.peer} answered ${what} with cmd ${h.cmd}, expected ${Cmd.RESP}`,
          { peer: this.peer },
        ),
      );
    }
    if (h.length === 0) this.pending = false;
    if (h.status !== 0) {
      // Error replies are header-only; a body would desync the stream. A storage closes the
      // link after a header-only EINVAL (fact sheet §1.2), so never reuse it after one.
      if (h.length !== 0 || h.status === Status.EINVAL) this.broken = true;
      const err = new FdfsError(h.status, `${what} failed on ${this.peer}: ${statusName(h.status)}`, {
        peer: this.peer,
      });
      statusReplies.add(err);
      throw err;
    }
    return h;
  }

  async readBody(length: number, cap = MAX_CONTROL_BODY): Promise<Buffer> {
    try {
      const body = await this.reader.readBody(length, cap);
      this.pending = false;
      return body;
    } catch (err) {
      this.fail(err);
    }
  }

  /** Streams `length` response bytes into `dest` (not ended when `end` is false). */
  async pipeBody(length: number, dest: Writable, end = true): Promise<void> {
    try {
      await pipeline(this.bodyStream(length), dest, { end });
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * `length` response bytes as a Readable. The connection is reusable only once it has been read
   * to the end; a consumer that stops early leaves it busy, and a pool then drops it.
   */
  bodyStream(length: number, mapError: (err: unknown) => unknown = (e) => e): Readable {
    if (length === 0) this.pending = false;
    const take = async function* (this: Connection): AsyncGenerator<Buffer> {
      try {
        yield* this.reader.take(length);
        this.pending = false;
      } catch (err) {
        this.kill();
        throw mapError(err);
      }
    };
    return Readable.from(take.call(this), { objectMode: false });
  }

  markBroken(): void {
    this.broken = true;
  }

  /** Drops the socket at once (e.g. when a reply ends an upload that is still being sent). */
  destroy(): void {
    this.kill();
  }

  /** Request with a control body and a control reply. */
  async call(cmd: number, body: Buffer = Buffer.alloc(0), status = 0): Promise<Buffer> {
    await this.send(cmd, body, undefined, status);
    const h = await this.readHeader(cmdName(cmd));
    return this.readBody(h.length);
  }

  close(): void {
    this.parked = false;
    if (this.usable && !this.pending) this.socket.end(encodePacket(Cmd.QUIT, undefined));
    this.socket.destroySoon?.();
    if (this.pending) this.socket.destroy();
    this.broken = true;
  }
}

function write(socket: Socket, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(buf, (err) => (err ? reject(err) : resolve())));
}

/**
 * Passes exactly `size` bytes and fails otherwise: the size went into the header, so a source
 * that gives more or less would leave the peer waiting or reading our next request as content.
 */
async function* exactLength(
  source: AsyncIterable<Buffer>,
  size: number,
  peer: string,
): AsyncGenerator<Buffer> {
  let seen = 0;
  const mismatch = (got: string) =>
    new FdfsError(Status.EINVAL, `content for ${peer} gave ${got} bytes, but ${size} were announced`, {
      peer,
    });
  for await (const chunk of source) {
    seen += chunk.length;
    if (seen > size) throw mismatch(`more than ${size}`);
    yield chunk;
  }
  if (seen !== size) throw mismatch(String(seen));
}
