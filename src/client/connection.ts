/** One TCP connection to a tracker or storage: strictly one request, then one response. */
import { connect as netConnect, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
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
} from '../protocol/index.js';

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly connectTimeout: number;
  readonly networkTimeout: number;
  /** Source address for the outgoing connection (a storage binds its own bind_addr). */
  readonly localAddress?: string;
}

export class Connection {
  readonly peer: string;
  private readonly reader: FrameReader;
  private broken = false;
  lastUsed = Date.now();

  private constructor(
    readonly socket: Socket,
    readonly opts: ConnectOptions,
  ) {
    this.peer = `${opts.host}:${opts.port}`;
    this.reader = new FrameReader(socket, this.peer);
    socket.setNoDelay(true);
    socket.setTimeout(opts.networkTimeout, () =>
      socket.destroy(new FdfsError(Status.ETIMEDOUT, `no answer from ${this.peer} within ${opts.networkTimeout} ms`)),
    );
    socket.on('error', () => {
      this.broken = true;
    });
    socket.on('close', () => {
      this.broken = true;
    });
  }

  static open(opts: ConnectOptions): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({
        host: opts.host,
        port: opts.port,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new FdfsError(Status.ETIMEDOUT, `connect to ${opts.host}:${opts.port} timed out after ${opts.connectTimeout} ms`));
      }, opts.connectTimeout);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new Connection(socket, opts));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const status = err.code === 'ECONNREFUSED' ? Status.ECONNREFUSED : Status.EIO;
        reject(new FdfsError(status, `cannot connect to ${opts.host}:${opts.port}: ${err.message}`, { cause: err }));
      });
    });
  }

  get usable(): boolean {
    return !this.broken && !this.socket.destroyed;
  }

  private fail(err: unknown): never {
    this.broken = true;
    this.socket.destroy();
    if (err instanceof FdfsError) throw err;
    throw new FdfsError(Status.EIO, `connection to ${this.peer} failed: ${(err as Error).message}`, {
      cause: err,
      peer: this.peer,
    });
  }

  /** Sends a request; a body stream, when given, follows the fixed part and must be exactly its size. */
  async send(cmd: number, fixed: Buffer, content?: { size: number; stream: Readable }, status = 0): Promise<void> {
    this.lastUsed = Date.now();
    try {
      if (!content) {
        await write(this.socket, encodePacket(cmd, fixed, status));
        return;
      }
      await write(this.socket, Buffer.concat([encodeHeader(fixed.length + content.size, cmd, status), fixed]));
      await pipeline(content.stream, this.socket, { end: false });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Reads a response header; a non-zero status becomes an FdfsError (the connection stays usable). */
  async readHeader(what: string): Promise<Header> {
    let h: Header | null;
    try {
      h = await this.reader.readHeader();
    } catch (err) {
      this.fail(err);
    }
    if (!h) this.fail(new FdfsError(Status.ECONNRESET, `${this.peer} closed the connection during ${what}`, { peer: this.peer }));
    if (h.cmd !== Cmd.RESP) this.fail(new FdfsError(Status.EINVAL, `${this.peer} answered ${what} with cmd ${h.cmd}`));
    if (h.status !== 0) {
      // Error replies are header-only; a body would desync the stream, so drop the link then.
      if (h.length !== 0) this.broken = true;
      throw new FdfsError(h.status, `${what} failed on ${this.peer}: status ${h.status}`, { peer: this.peer });
    }
    return h;
  }

  async readBody(length: number, cap = MAX_CONTROL_BODY): Promise<Buffer> {
    try {
      return await this.reader.readBody(length, cap);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Streams `length` response bytes into `dest` (not ended when `end` is false). */
  async pipeBody(length: number, dest: Writable, end = true): Promise<void> {
    try {
      await pipeline(this.reader.stream(length), dest, { end });
    } catch (err) {
      this.fail(err);
    }
  }

  bodyStream(length: number): Readable {
    return this.reader.stream(length);
  }

  markBroken(): void {
    this.broken = true;
  }

  /** Request with a control body and a control reply. */
  async call(cmd: number, body: Buffer = Buffer.alloc(0), status = 0): Promise<Buffer> {
    await this.send(cmd, body, undefined, status);
    const h = await this.readHeader(cmdName(cmd));
    return this.readBody(h.length);
  }

  close(): void {
    if (this.usable) this.socket.end(encodePacket(Cmd.QUIT, undefined));
    this.socket.destroySoon?.();
    this.broken = true;
  }
}

function write(socket: Socket, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(buf, (err) => (err ? reject(err) : resolve())));
}
