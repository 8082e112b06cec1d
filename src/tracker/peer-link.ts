/**
 * A tracker's own connection to another tracker (leader election, pings): one request, one
 * answer, in sequence. Trackers never import the client (they talk to each other over the wire
 * as FastDFS' do), so this is the small part of a client they need.
 */
import { connect, type Socket } from 'node:net';
import { cmdName, encodePacket, FdfsError, FrameReader, Status, statusName } from '../protocol/index.js';

/** Tracker-to-tracker answers are small (status 17 B, ping rows 32 B a group); a sys file piece is < 128 KB. */
const MAX_ANSWER = 256 * 1024;

export interface PeerLinkOptions {
  readonly host: string;
  readonly port: number;
  readonly connectTimeout: number;
  readonly networkTimeout: number;
  /** Source address: the tracker's bind_addr, so the peer sees the address it lists us under. */
  readonly localAddress?: string;
}

export class PeerLink {
  readonly peer: string;
  private readonly reader: FrameReader;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    opts: PeerLinkOptions,
  ) {
    this.peer = `${opts.host}:${opts.port}`;
    this.reader = new FrameReader(socket, this.peer);
    socket.setNoDelay(true);
    socket.setTimeout(opts.networkTimeout, () =>
      socket.destroy(new FdfsError(Status.ETIMEDOUT, `no answer from tracker ${this.peer}`)),
    );
    socket.on('error', () => {
      this.closed = true;
    });
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static open(opts: PeerLinkOptions): Promise<PeerLink> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: opts.host,
        port: opts.port,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new FdfsError(Status.ETIMEDOUT, `connect to tracker ${opts.host}:${opts.port} timed out`));
      }, opts.connectTimeout);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new PeerLink(socket, opts));
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new FdfsError(
            err.code === 'ECONNREFUSED' ? Status.ECONNREFUSED : Status.EIO,
            `cannot connect to tracker ${opts.host}:${opts.port}: ${err.message}`,
            { cause: err },
          ),
        );
      });
    });
  }

  get usable(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  /** The answer's body; a non-zero status throws an FdfsError carrying it. */
  async call(cmd: number, body?: Buffer): Promise<Buffer> {
    try {
      await new Promise<void>((resolve, reject) =>
        this.socket.write(encodePacket(cmd, body), (err) => (err ? reject(err) : resolve())),
      );
      const h = await this.reader.readHeader();
      if (!h) throw new FdfsError(Status.ECONNRESET, `tracker ${this.peer} closed the connection`);
      const answer = await this.reader.readBody(h.length, MAX_ANSWER);
      if (h.status !== 0) {
        throw new FdfsError(
          h.status,
          `tracker ${this.peer} answered ${statusName(h.status)} to ${cmdName(cmd)}`,
        );
      }
      return answer;
    } catch (err) {
      this.close();
      throw err instanceof FdfsError
        ? err
        : new FdfsError(Status.EIO, `tracker ${this.peer}: ${(err as Error).message}`, { cause: err });
    }
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** One request on a connection of its own (status queries, leader notices). */
export async function callOnce(opts: PeerLinkOptions, cmd: number, body?: Buffer): Promise<Buffer> {
  const link = await PeerLink.open(opts);
  try {
    return await link.call(cmd, body);
  } finally {
    link.close();
  }
}
