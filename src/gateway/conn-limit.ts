/**
 * http.max_connections and http.header_timeout: idle sockets must not take every descriptor.
 * Connections up to the cap are served; a few more (the headroom) are parked long enough for their
 * first request, so `/healthz` still answers 200 and anything else gets 503 + `Retry-After`;
 * beyond that a connection gets a canned 503 and is closed without reaching the HTTP parser's
 * handlers. Every connection that has sent nothing by the header timeout is closed.
 */
import type { Server as HttpServer, IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';
import type { Logger } from '../common/index.js';

export interface ConnLimitOptions {
  readonly maxConnections: number;
  /** ms until a connection must have sent its request headers. */
  readonly headerTimeout: number;
  readonly logger: Logger;
}

const BODY = 'too many connections, retry later\n';
const HEADERS = {
  'content-type': 'text/plain; charset=utf-8',
  'content-length': String(Buffer.byteLength(BODY)),
  'retry-after': '1',
  connection: 'close',
} as const;
const RAW_503 = Buffer.from(
  `HTTP/1.1 503 Service Unavailable\r\n${Object.entries(HEADERS)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n${BODY}`,
);
// Node's default requestTimeout: whole requests (uploads) may take this long.
const REQUEST_TIMEOUT = 300_000;

/** node:http options that enforce the header timeout (checked often enough to matter). */
export function serverTimeouts(headerTimeout: number): ServerOptions {
  return {
    headersTimeout: headerTimeout,
    requestTimeout: Math.max(REQUEST_TIMEOUT, headerTimeout),
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headerTimeout / 4))),
  };
}

/**
 * A client that sends its requests and then half-closes still gets its answers. node:http's
 * default ends the connection at the client's FIN, dropping answers still being made (an upload
 * being stored, say); the property is node's own, present since 0.x, but not in its types.
 */
export function answerHalfClosed(server: HttpServer): void {
  (server as HttpServer & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
}

export function isHealthCheck(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  return (
    (req.method === 'GET' || req.method === 'HEAD') && (url === '/healthz' || url.startsWith('/healthz?'))
  );
}

export class ConnLimit {
  /** Over-cap connections parked at once, waiting for a request that may be a health check. */
  readonly headroom: number;
  private readonly admitted = new Set<Socket>();
  private readonly spare = new Set<Socket>();
  private refused = 0;
  private lastReport = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: ConnLimitOptions) {
    this.headroom = Math.max(8, Math.ceil(o.maxConnections / 32));
  }

  /** Counts every connection before node:http sees it. */
  attach(server: Server): void {
    server.prependListener('connection', (socket: Socket) => this.accept(socket));
  }

  /** Connections within the cap, and parked over it. */
  get counts(): { admitted: number; spare: number } {
    return { admitted: this.admitted.size, spare: this.spare.size };
  }

  /** True for a connection within the cap (false: parked over it, or refused). */
  isAdmitted(socket: Socket): boolean {
    return this.admitted.has(socket);
  }

  /** True when `req` came on a connection over the cap: answer it with `refuse` unless health. */
  isOver(req: IncomingMessage): boolean {
    return this.spare.has(req.socket);
  }

  /** 503 on a parsed request; node closes the connection after it (Connection: close). */
  refuse(res: ServerResponse): void {
    res.writeHead(503, HEADERS);
    res.end(BODY);
    this.note();
  }

  private accept(socket: Socket): void {
    // First-byte timer: node's headersTimeout is only checked every connectionsCheckingInterval.
    const timer = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy();
    }, this.o.headerTimeout);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.admitted.delete(socket);
      this.spare.delete(socket);
    });
    if (this.admitted.size < this.o.maxConnections) {
      this.admitted.add(socket);
      return;
    }
    if (this.spare.size >= this.headroom) {
      // Make room by dropping the oldest parked connection that has sent nothing: a health check
      // sends its request at once, an idle flood never does.
      let idle: Socket | undefined;
      for (const s of this.spare) {
        if (s.bytesRead === 0) {
          idle = s;
          break;
        }
      }
      if (idle === undefined) {
        this.refuseRaw(socket);
        return;
      }
      this.spare.delete(idle);
      this.refuseRaw(idle);
    }
    this.spare.add(socket);
  }

  private refuseRaw(socket: Socket): void {
    socket.end(RAW_503);
    socket.destroySoon();
    this.note();
  }

  /** One warn line a second at most, with how many were refused since the last. */
  private note(): void {
    this.refused++;
    const now = Date.now();
    if (now - this.lastReport < 1000) return;
    this.o.logger.warn('http connections refused: http.max_connections reached', {
      count: this.refused,
      maxConnections: this.o.maxConnections,
    });
    this.refused = 0;
    this.lastReport = now;
  }
}
