/**
 * The request loop every FastDFS-speaking server shares: one request, one response, in order.
 * Policy (timeouts, which commands exist, caps) comes from the caller.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { FdfsError, type Logger, Status, toStatus } from '../common/index.js';
import type { ConnectionGuard } from './connection-guard.js';
import { Cmd, cmdName, HEADER_SIZE } from './constants.js';
import { FrameReader } from './frame-reader.js';
import { encodeHeader, encodePacket, type Header } from './header.js';
import { drained, streamToSocket } from './stream-to-socket.js';

export interface PacketContext {
  readonly socket: Socket;
  readonly reader: FrameReader;
  readonly peer: string;
  /** The client's address (a storage worker process relaying a request passes it along). */
  readonly remoteAddress: string;
  /** Header (+ small body) in one write. */
  reply(body?: Buffer): Promise<void>;
  /** Header with `length`, then the stream's bytes; the stream must yield exactly that many. */
  replyStream(length: number, body: Readable): Promise<void>;
}

export type PacketHandler = (header: Header, ctx: PacketContext) => Promise<void>;

/**
 * Answers a complete request synchronously: either writes its whole reply and returns true, or
 * writes nothing and returns false, leaving the request to the PacketHandler (which then parses
 * it again: a fast handler takes only what it can finish, and every failure goes the slow way,
 * so errors are answered and logged in one place).
 */
export type FastHandler = (header: Header, body: Buffer, socket: Socket) => boolean;

export interface ServeOptions {
  readonly logger: Logger;
  /** Idle/network timeout in ms; the socket is dropped when it passes with no traffic. */
  readonly timeout: number;
  /** Storage closes the connection after a header-only EINVAL, as FastDFS does (fact sheet §1.2). */
  readonly closeAfterEinval: boolean;
  /** Total and per-address caps; a refused connection is closed before anything is read. */
  readonly guard?: ConnectionGuard;
  /**
   * ms from accept to the first complete request header, counted once (not an idle timer, so a
   * trickle of bytes does not extend it); `timeout` applies after it. 0/undefined = `timeout` only.
   */
  readonly firstHeaderTimeout?: number;
  /** The client behind a relaying connection (a storage worker process's), instead of the socket's peer. */
  readonly remote?: { readonly address: string; readonly port: number };
  /** A reader already made over `socket` (which has read something before the first request). */
  readonly reader?: FrameReader;
  /** Requests of at most `fastMaxBody` body bytes that arrive whole are offered to it first. */
  readonly fast?: FastHandler;
  readonly fastMaxBody?: number;
}

const sent = Promise.resolve();

/**
 * Queues `buf` and waits only while the socket is above its high-water mark: a client that does
 * not read its answers stops the loop (backpressure) without a callback and a promise per reply,
 * which profiles of small requests showed. A failed write closes the socket; the loop sees that.
 */
function write(socket: Socket, buf: Buffer): Promise<void> {
  if (socket.destroyed)
    return Promise.reject(new FdfsError(Status.ECONNRESET, 'connection closed while sending'));
  return socket.write(buf) ? sent : drained(socket);
}

export async function servePackets(
  socket: Socket,
  handler: PacketHandler,
  opts: ServeOptions,
): Promise<void> {
  const host = opts.remote?.address ?? socket.remoteAddress ?? '';
  const peer = `${host}:${opts.remote?.port ?? socket.remotePort}`;
  const log = opts.logger.child({ peer });
  socket.on('error', (err) => log.debug('socket error', { err }));
  const guard = opts.guard;
  if (guard) {
    const refused = guard.admit(host);
    if (refused !== undefined) {
      socket.destroy();
      const count = guard.refusalsToReport(Date.now());
      if (count > 0) {
        const caps = { maxConnections: guard.maxConnections, maxPerHost: guard.maxPerHost };
        log.warn('connections refused', { reason: refused, count, ...caps });
      }
      return;
    }
  }
  socket.setNoDelay(true);
  socket.setTimeout(opts.timeout, () => socket.destroy());
  let firstHeader: NodeJS.Timeout | undefined;
  if (opts.firstHeaderTimeout) {
    firstHeader = setTimeout(() => {
      log.debug('no request header in time: connection closed', { ms: opts.firstHeaderTimeout });
      socket.destroy();
    }, opts.firstHeaderTimeout);
    firstHeader.unref();
  }
  const reader = opts.reader ?? new FrameReader(socket, peer);
  const fast = opts.fast;
  if (fast) {
    const maxBody = opts.fastMaxBody ?? 256;
    reader.setFastPath((c) => {
      let at = 0;
      // A reply the client has not read yet stops the fast path: the loop's write waits for it.
      while (c.length - at >= HEADER_SIZE && !socket.writableNeedDrain && !socket.destroyed) {
        const high = c.readUInt32BE(at);
        const len = c.readUInt32BE(at + 4);
        const cmd = c[at + 8] as number;
        if (high !== 0 || len > maxBody || c.length - at - HEADER_SIZE < len || cmd === Cmd.QUIT) break;
        const header: Header = { length: len, cmd, status: c[at + 9] as number };
        const body = c.subarray(at + HEADER_SIZE, at + HEADER_SIZE + len);
        let done = false;
        try {
          done = fast(header, body, socket);
        } catch (err) {
          log.error('fast path failed; the request goes the usual way', { cmd: cmdName(cmd), err });
        }
        if (!done) break;
        clearTimeout(firstHeader);
        at += HEADER_SIZE + len;
      }
      return at === 0 ? c : at === c.length ? undefined : c.subarray(at);
    });
  }
  const ctx: PacketContext = {
    socket,
    reader,
    peer,
    remoteAddress: host,
    reply: (body) => write(socket, encodePacket(Cmd.RESP, body)),
    replyStream: async (length, body) => {
      await write(socket, encodeHeader(length, Cmd.RESP, 0));
      await streamToSocket(body, socket);
    },
  };
  try {
    for (;;) {
      const header = await reader.readHeader();
      if (!header) break;
      clearTimeout(firstHeader);
      if (header.cmd === Cmd.QUIT) break;
      if (header.cmd === Cmd.ACTIVE_TEST && header.length === 0) {
        await ctx.reply();
        continue;
      }
      const start = reader.consumed;
      try {
        await handler(header, ctx);
      } catch (err) {
        if (socket.destroyed) throw err;
        const status = toStatus(err);
        const level = err instanceof FdfsError && status !== Status.EIO ? 'info' : 'error';
        log[level]('request failed', { cmd: cmdName(header.cmd), status, err });
        await write(socket, encodeHeader(0, Cmd.RESP, status || Status.EIO));
        const inSync = reader.consumed - start === header.length;
        if (!inSync || (opts.closeAfterEinval && status === Status.EINVAL)) break;
      }
    }
  } catch (err) {
    // A malformed header, a truncated body or a dead peer: drop this connection, nothing else.
    log.info('connection dropped', { err });
  } finally {
    clearTimeout(firstHeader);
    guard?.release(host);
    socket.end();
    socket.destroySoon?.();
  }
}

/** Reply for an unknown command, used by handlers' default branch. */
export function unknownCommand(header: Header): FdfsError {
  return new FdfsError(Status.EINVAL, `unknown command ${header.cmd}`);
}
