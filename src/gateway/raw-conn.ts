/**
 * Keep-alive connections answered without node:http while they only GET or HEAD file URLs.
 * node:http's request and response objects cost more than the rest of a cached 4 KB download
 * together: a bare node:http server answering a fixed 4 KB buffer runs at 43-53k req/s here
 * (18.5-22 µs of CPU each), the same answer written on the socket at 66-80k (12.5-15 µs), and
 * nginx + fastdfs-nginx-module at ~45k. The first request that is anything else — another
 * method, a route that is not a file, a head request-head.ts is not sure of, a head split across
 * reads — hands the connection with its unread bytes to node:http for the rest of its life, so
 * uploads, the page, the API, slow or odd clients and every timeout take the full path.
 */
import { type Server as HttpServer, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../common/index.js';
import { errorReply, type FileReply } from './file-get.js';
import { type FileAnswer, type FileRoute, NOT_A_FILE, NOT_A_READ } from './file-route.js';
import { splitTarget } from './file-url.js';
import type { Metrics } from './metrics.js';
import { type RequestHead, readRequestHead } from './request-head.js';
import { SEND_STALL_MS, sendBody, sendFileOn } from './send-file.js';

type ConnectionListener = (this: HttpServer, socket: Socket) => void;

const VALID_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const NO_BODY_STATUS = new Set([204, 304]);

export class RawConnections {
  private readonly open = new Set<RawConnection>();
  private readonly heads = new WeakMap<object, Fields>();
  private readonly nodeListeners: ConnectionListener[];
  private date = '';
  private dateSec = -1;
  private closing = false;

  /**
   * Takes the connections `server` accepts (after listeners prepended before this, such as the
   * connection cap's); `keepOnNode(socket)` true sends one straight to node:http.
   */
  constructor(
    readonly server: HttpServer,
    readonly route: FileRoute,
    private readonly metrics: Metrics,
    readonly logger: Logger,
    keepOnNode: (socket: Socket) => boolean,
  ) {
    // node:http's own connection listener is called only for the connections handed over.
    this.nodeListeners = server.listeners('connection') as ConnectionListener[];
    for (const l of this.nodeListeners) server.removeListener('connection', l);
    server.on('connection', (socket: Socket) => {
      if (this.closing || keepOnNode(socket)) {
        metrics.connection('node');
        this.toNode(socket);
      } else {
        metrics.connection('raw');
        this.open.add(new RawConnection(this, socket));
      }
    });
  }

  /** Closes the connections between requests now, the others once their answer is written. */
  closeIdle(): void {
    this.closing = true;
    for (const c of this.open) c.closeWhenIdle();
  }

  /** Destroys every connection still here. */
  closeAll(): void {
    for (const c of this.open) c.socket.destroy();
  }

  forget(c: RawConnection): void {
    this.open.delete(c);
  }

  handOver(socket: Socket): void {
    this.metrics.connection('handedOver');
    this.toNode(socket);
  }

  private toNode(socket: Socket): void {
    for (const l of this.nodeListeners) l.call(this.server, socket);
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Status line and headers of `reply`, ending with the blank line; throws as serializeFields. */
  headOf(reply: FileReply, method: string): string {
    const now = Date.now();
    const sec = Math.floor(now / 1000);
    if (sec !== this.dateSec) {
      this.dateSec = sec;
      this.date = new Date(now).toUTCString();
    }
    let fields = this.heads.get(reply.headers);
    if (fields === undefined) {
      fields = serializeFields(reply.headers);
      this.heads.set(reply.headers, fields);
    }
    // Without a length a keep-alive client cannot tell where the body ends.
    const length =
      fields.hasLength || NO_BODY_STATUS.has(reply.status) || method === 'HEAD'
        ? ''
        : `Content-Length: ${reply.body === undefined ? 0 : reply.length}\r\n`;
    const idle = Math.floor(this.server.keepAliveTimeout / 1000);
    return `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? 'Unknown'}\r\n${fields.text}${length}Date: ${this.date}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=${idle}\r\n\r\n`;
  }
}

interface Fields {
  readonly text: string;
  readonly hasLength: boolean;
}

/** Header lines; throws on a name or value node:http would refuse too. */
function serializeFields(headers: Record<string, string>): Fields {
  let text = '';
  let hasLength = false;
  for (const [name, value] of Object.entries(headers)) {
    if (!VALID_NAME.test(name) || INVALID_VALUE.test(value)) {
      throw new Error(`reply header ${JSON.stringify(name)} has a character HTTP does not allow`);
    }
    if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
    text += `${name}: ${value}\r\n`;
  }
  return { text, hasLength };
}

/** Reads a request head may take on a raw connection before node:http is given it. */
const MAX_PARTIAL_READS = 4;

class RawConnection {
  private busy = false;
  private draining = false;
  private ended = false;
  private closeAfter = false;
  /** The start of a request head that has not all arrived, and how many reads it took so far. */
  private partial: Buffer | undefined;
  private partialReads = 0;
  private readonly onData = (chunk: Buffer) => {
    const held = this.partial;
    if (held === undefined) return this.run(chunk, 0);
    this.partial = undefined;
    this.run(Buffer.concat([held, chunk]), 0);
  };
  private readonly onEnd = () => {
    // The client sent all it will: answer what is in flight, then close (as answerHalfClosed
    // makes node:http do).
    this.ended = true;
    if (!this.busy) this.socket.end();
  };
  private readonly onTimeout = () => {
    // Idle between requests, or not reading its answers; a body being sent has its own limit.
    if (!this.busy || this.draining) this.socket.destroy();
  };
  private readonly onError = () => this.socket.destroy();
  private readonly onClose = () => this.owner.forget(this);

  constructor(
    private readonly owner: RawConnections,
    readonly socket: Socket,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.setTimeout(owner.server.keepAliveTimeout, this.onTimeout);
  }

  closeWhenIdle(): void {
    if (this.busy) this.closeAfter = true;
    else this.socket.end();
  }

  /** Answers the complete requests in `buf` from `pos` on, in order. */
  private run(buf: Buffer, pos: number): void {
    const { socket, owner } = this;
    while (pos < buf.length) {
      if (socket.destroyed) return;
      const head = readRequestHead(buf, pos);
      if (head === 'partial' && this.partialReads < MAX_PARTIAL_READS) {
        // A head split across reads (a large cookie over a real network, a pipelined request
        // cut at the read's end): wait for the rest. A head that trickles in is node:http's,
        // whose header timeout is made for it.
        this.partialReads++;
        this.partial = Buffer.from(buf.subarray(pos));
        if (this.ended || owner.isClosing) socket.end();
        return;
      }
      if (typeof head === 'string') {
        this.handOver(buf.subarray(pos));
        return;
      }
      this.partialReads = 0;
      const t0 = performance.now();
      const { path, query } = splitTarget(head.target);
      const header = (n: string) => head.headers.get(n);
      const a = owner.route.answer(head.method, path, query, head.headers.get('host'), header);
      if (a === NOT_A_FILE || a === NOT_A_READ) {
        this.handOver(buf.subarray(pos));
        return;
      }
      pos = head.end;
      if (!(a instanceof Promise) && this.writeNow(a, head, t0, path)) {
        if (socket.writableNeedDrain) {
          // A client that sends requests faster than it reads answers waits: memory stays bounded.
          this.busy = true;
          this.draining = true;
          socket.setTimeout(SEND_STALL_MS);
          socket.pause();
          socket.once('drain', () => this.resume(buf, pos));
          return;
        }
        continue;
      }
      this.busy = true;
      socket.setTimeout(0);
      socket.pause();
      Promise.resolve(a)
        .then((answer) => this.writeLater(answer, head, t0, path))
        .then(
          () => this.resume(buf, pos),
          (err: unknown) => {
            // Not a client's doing (writeLater handles those): say so, and drop the connection.
            owner.logger.error('raw HTTP connection failed', { path, peer: this.peer(), err });
            socket.destroy();
          },
        );
      return;
    }
    // All read is answered: a client that sent its last request, or a server closing, is done.
    if (this.ended || owner.isClosing) socket.end();
  }

  private resume(buf: Buffer, pos: number): void {
    this.busy = false;
    this.draining = false;
    const { socket } = this;
    if (socket.destroyed) return;
    if (this.closeAfter) {
      socket.end();
      return;
    }
    if (!this.ended) {
      socket.setTimeout(this.owner.server.keepAliveTimeout);
      socket.resume(); // emits on a later tick: the requests already read go first
    }
    this.run(buf, pos);
  }

  /** Writes an answer held in memory; false when its body must be sent asynchronously. */
  private writeNow(given: FileAnswer, head: RequestHead, t0: number, path: string): boolean {
    const isHead = head.method === 'HEAD';
    const pending = given.reply.body;
    if (!isHead && pending !== undefined && !Buffer.isBuffer(pending)) return false;
    if (pending instanceof Readable) pending.destroy(); // a HEAD's unread body
    const [a, text] = this.headed(given, head.method);
    // In memory by the check above (or a 500's Buffer when `given`'s headers could not be sent).
    const body = isHead ? undefined : (a.reply.body as Buffer | undefined);
    const { socket } = this;
    if (body === undefined || body.length === 0) socket.write(text, 'latin1');
    else {
      socket.cork();
      socket.write(text, 'latin1');
      socket.write(body);
      socket.uncork();
    }
    this.owner.route.record(head.method, path, a, t0, this.peer);
    return true;
  }

  private async writeLater(given: FileAnswer, head: RequestHead, t0: number, path: string): Promise<void> {
    if (this.writeNow(given, head, t0, path)) return;
    const [a, text] = this.headed(given, head.method);
    if (a !== given) {
      // Its headers could not be sent: a 500 in their place, the body dropped.
      (given.reply.body as Readable).destroy();
      this.writeNow(a, head, t0, path);
      return;
    }
    const { socket } = this;
    const { reply } = a;
    const body = reply.body as Readable;
    socket.write(text, 'latin1');
    try {
      await sendBody(
        body,
        reply.file,
        reply.length,
        (file, length) => sendFileOn(socket, file, length),
        (b) => pipeline(b, socket, { end: false }),
      );
      this.owner.route.record(head.method, path, a, t0, this.peer);
    } catch (err) {
      // The head is out: the only way left to say "incomplete" is to close. A client gone
      // mid-body is routine; anything else is worth a line.
      if ((err as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        this.owner.route.record(head.method, path, a, t0, this.peer, err);
      }
      socket.destroy();
    }
  }

  /** `a` and its head, or a 500 and its head when `a`'s headers cannot be sent. */
  private headed(a: FileAnswer, method: string): [FileAnswer, string] {
    try {
      return [a, this.owner.headOf(a.reply, method)];
    } catch (err) {
      const failed = { reply: errorReply(500, err, method === 'HEAD', a.fileId), cause: err };
      return [failed, this.owner.headOf(failed.reply, method)];
    }
  }

  private readonly peer = () => `${this.socket.remoteAddress}:${this.socket.remotePort}`;

  /** node:http takes the connection from the first byte of `rest` on. */
  private handOver(rest: Buffer): void {
    const { socket } = this;
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('error', this.onError);
    socket.off('close', this.onClose);
    socket.off('timeout', this.onTimeout);
    socket.setTimeout(0);
    this.owner.forget(this);
    if (this.ended) {
      // The client's FIN was read already: the socket cannot take bytes back, and node:http's
      // listeners would wait for an 'end' that has passed. Give them the rest and the end.
      const data = new Set(socket.listeners('data'));
      const end = new Set(socket.listeners('end'));
      this.owner.handOver(socket);
      for (const l of socket.listeners('data')) if (!data.has(l)) l.call(socket, rest);
      for (const l of socket.listeners('end')) if (!end.has(l)) l.call(socket);
      return;
    }
    // Paused so that the bytes put back wait for node:http's reader instead of being emitted
    // to no listener; node:http resumes nothing it did not pause, hence the resume after.
    socket.pause();
    if (rest.length > 0) socket.unshift(rest);
    this.owner.handOver(socket);
    socket.resume();
  }
}
