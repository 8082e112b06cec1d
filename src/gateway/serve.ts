/**
 * startGateway(config, deps): the gateway on node:http. GET/HEAD of file URLs are answered by a
 * raw node:http handler before hono, and everything else goes to the hono app through
 * @hono/node-server. Measured on a cached 4 KB file at 16 connections: 4–6k req/s through hono's
 * Response path, 14–19k on this one (nginx: 30–38k on the same, loaded, machine). Uploads take
 * a raw path too (serve-upload.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getRequestListener } from '@hono/node-server';
import type { HttpConfig } from '../config/types.js';
import { sendFile, sendFileTo } from '../native/index.js';
import { listenOn } from '../protocol/index.js';
import { type AppDeps, createGateway, type Gateway, logRequest } from './app.js';
import { ConnLimit, isHealthCheck, serverTimeouts } from './conn-limit.js';
import { fail, httpStatusOf } from './errors.js';
import { errorReply, type FileReply, type SendableFile } from './file-get.js';
import { type FileTarget, parseFileUrl, splitTarget } from './file-url.js';
import { rawUploads } from './serve-upload.js';
import { clearSpool } from './spool.js';

export interface GatewayHandle {
  readonly address: { readonly host: string; readonly port: number };
  readonly gateway: Gateway;
  /** Stops accepting, lets requests in flight finish (closing idle keep-alive connections). */
  close(): Promise<void>;
}

const PARSED_MAX = 10_000;
/** `.`/`..` segments and encoded dots, slashes or backslashes: never part of a valid route. */
const DOT_SEGMENT = /(?:^|\/)\.{1,2}(?:\/|$)|%2e|%2f|%5c|\\/i;

function isLoopback(addr: string): boolean {
  return addr.startsWith('127.') || addr === '::1' || addr === 'localhost';
}

/** `address:port` the request reached, as a Host header would say it. */
function localHost(req: IncomingMessage): string {
  const { localAddress = '127.0.0.1', localPort } = req.socket;
  return `${localAddress.includes(':') ? `[${localAddress}]` : localAddress}:${localPort}`;
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * Bodies from a local file at least this long go out by sendfile when the addon is built: below
 * it, one pread and one write cost less than the addon's pool round trip and descriptor copies.
 */
export const SENDFILE_MIN = 64 * 1024;
/** A client that takes no bytes for this long is dropped mid-body (nginx's send_timeout). */
const SEND_STALL_MS = 60_000;

/**
 * The body straight from the page cache to the socket (src/native), as nginx sends files: the
 * stream path reads each 64 KB into a new buffer and copies it again into the socket. Call after
 * writeHead; it ends the response. False: this socket cannot (TLS, no descriptor); nothing of
 * the body was written. The S3 endpoint sends its objects' files the same way.
 */
export async function sendFileBody(
  res: ServerResponse,
  file: SendableFile,
  length: number,
): Promise<boolean> {
  const socket = res.socket;
  if (!socket) return false;
  res.flushHeaders(); // queued on the socket: sendFileTo starts after it
  const r = await sendFileTo(socket, file.fd, file.offset, length, SEND_STALL_MS);
  if (!r) return false;
  if (r.errno !== 0) {
    const err = new Error(`sendfile stopped after ${r.sent} of ${length} bytes`) as NodeJS.ErrnoException;
    err.errno = r.errno;
    // As a client gone mid-body on the stream path: routine, not logged.
    err.code = r.errno === constants.errno.EIO ? 'EIO' : 'ERR_STREAM_PREMATURE_CLOSE';
    throw err;
  }
  res.end();
  return true;
}

/** The fast path: true when it took the request, false to hand it to hono. */
function rawFiles(gw: Gateway): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { ctx, files } = gw;
  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    reply: FileReply,
    t0: number,
    fileId?: string,
    cause?: unknown,
  ) => {
    res.writeHead(reply.status, reply.headers);
    const done = (err: unknown = cause) => {
      const ms = performance.now() - t0;
      ctx.metrics.observe('file', req.method as string, reply.status, ms / 1000, reply.length);
      // Successful downloads are not logged on this path: a log line costs more than the answer.
      if (reply.status >= 400 || err !== undefined) {
        const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
        // Without the query: token= and sig= are credentials and stay out of the log.
        const path = splitTarget(req.url ?? '').path;
        const fields = { method: req.method as string, path, status: reply.status, ms, peer };
        logRequest(ctx, fileId ? { ...fields, fileId } : fields, err);
      }
    };
    const body = reply.body;
    const failed = (err: unknown) => {
      // A client that goes away mid-body is routine; anything else is worth a line.
      if ((err as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') done(err);
      res.destroy();
    };
    const stream = (b: Readable) => pipeline(b, res).then(() => done(), failed);
    if (body === undefined || req.method === 'HEAD') {
      res.end();
      done();
    } else if (Buffer.isBuffer(body)) {
      res.end(body);
      done();
    } else if (reply.file && sendFile && reply.length >= SENDFILE_MIN) {
      const file = reply.file;
      sendFileBody(res, file, reply.length).then(
        (sent) => {
          if (!sent) return stream(body); // body unread: the stream path takes over whole
          file.release(true);
          done();
        },
        (err: unknown) => {
          file.release(false);
          failed(err);
        },
      );
    } else void stream(body);
  };

  const parsed = new Map<string, FileTarget>();
  const uploads = rawUploads(gw);
  let goodHost: string | undefined;
  return (req, res) => {
    const method = req.method;
    const { path, query } = splitTarget(req.url ?? '/');
    const t0 = performance.now();
    // A Host that is no URL host (e.g. "-27.0.0.1") made every later `new URL(c.req.url)` throw:
    // a 500 for the client's mistake. Checked once per distinct value.
    const host = req.headers.host;
    if (host !== undefined && host !== goodHost) {
      if (!URL.canParse(`http://${host}/`)) {
        const err = fail.badRequest('the Host header is not a valid host');
        send(req, res, errorReply(400, err, method === 'HEAD'), t0, undefined, err);
        return true;
      }
      goodHost = host;
    }
    // Hot URLs are parsed once: validation is pure, so its answer for a path never changes.
    const read = method === 'GET' || method === 'HEAD';
    let target = read ? parsed.get(path) : undefined;
    // Checked as sent, for every method: hono sees the path only after URL normalization. A
    // path in `parsed` passed this check when it was added.
    if (target === undefined && DOT_SEGMENT.test(path)) {
      const err = fail.badRequest(
        `path ${JSON.stringify(path.slice(0, 140))} has dot segments or encoded separators`,
      );
      send(req, res, errorReply(400, err, method === 'HEAD'), t0, undefined, err);
      return true;
    }
    if (!read) return uploads(req, res, path, query);
    try {
      if (target === undefined) {
        target = parseFileUrl(path, ctx.defaultGroup);
        if (target !== undefined) {
          if (parsed.size >= PARSED_MAX) parsed.clear();
          parsed.set(path, target);
        }
      }
    } catch (err) {
      send(req, res, errorReply(httpStatusOf(err), err, method === 'HEAD'), t0, undefined, err);
      return true;
    }
    if (target === undefined) return false;
    const h = req.headers;
    const plain =
      method === 'GET' &&
      h.range === undefined &&
      h['if-none-match'] === undefined &&
      h['if-modified-since'] === undefined;
    const fast = files.fast(target, query, plain, headerOf(req, 'accept'));
    if (fast) {
      send(req, res, fast, t0);
      return true;
    }
    const fileId = target.fileId;
    files.serve({ method, query, header: (n) => headerOf(req, n) }, target).then(
      (reply) => send(req, res, reply, t0, fileId),
      (err: unknown) =>
        send(req, res, errorReply(httpStatusOf(err), err, method === 'HEAD', fileId), t0, fileId, err),
    );
    return true;
  };
}

export interface GatewayLimits {
  /** A lower connection cap than http.max_connections (fdfs start fits it to RLIMIT_NOFILE). */
  readonly maxConnections?: number;
}

export async function startGateway(
  config: HttpConfig,
  deps: AppDeps,
  limits: GatewayLimits = {},
): Promise<GatewayHandle> {
  const gw = createGateway(config, deps);
  const { ctx } = gw;
  let host = config.bindAddr || '0.0.0.0';
  if (!ctx.auth.enabled) {
    if (!isLoopback(host)) {
      ctx.logger.warn(
        'no http.auth key is set: uploads and deletes are open, so listening on 127.0.0.1 only',
        {
          asked: host,
        },
      );
      host = '127.0.0.1';
    } else {
      ctx.logger.info('no http.auth key is set: uploads and deletes are open to local clients', { host });
    }
  }
  if (ctx.remote) await clearSpool(ctx.spoolDir);
  const hono = getRequestListener(gw.app.fetch);
  const raw = rawFiles(gw);
  const maxConnections = Math.min(config.maxConnections, limits.maxConnections ?? Number.POSITIVE_INFINITY);
  const limit = new ConnLimit({ maxConnections, headerTimeout: config.headerTimeout, logger: ctx.logger });
  const server: Server = createServer(serverTimeouts(config.headerTimeout), (req, res) => {
    if (limit.isOver(req)) {
      // Over the cap: only a health check is served, and the connection closes after it.
      if (!isHealthCheck(req)) return limit.refuse(res);
      res.setHeader('connection', 'close');
    }
    // HTTP/1.0 may leave Host out (load balancers' health checks do); node:http refuses that
    // only for 1.1. @hono/node-server builds the URL from Host, so name the address it came to.
    if (req.headers.host === undefined) req.headers.host = localHost(req);
    if (!raw(req, res)) void hono(req, res);
  });
  limit.attach(server);
  const addr = await listenOn(server, { role: 'gateway', host, port: config.port });
  ctx.logger.info('gateway listening', {
    host: addr.address,
    port: addr.port,
    maxConnections,
    headerTimeoutMs: config.headerTimeout,
    local: ctx.local?.group ?? null,
    cluster: ctx.remote !== undefined,
    tokens: config.antiSteal.checkToken,
    signedLinks: ctx.links.enabled,
  });
  return {
    address: { host: addr.address, port: addr.port },
    gateway: gw,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 2000);
      force.unref();
      await closed;
      clearTimeout(force);
    },
  };
}
