/**
 * startS3(config, deps, listen): the S3 endpoint on raw node:http, so request and response bodies
 * stream without a web-stream round trip. Each request: a request id, the addressed bucket and
 * key, SigV4 (or anonymous), then its operation; every failure becomes one S3 `<Error>` answer.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { S3Config } from '../config/types.js';
import { answerHalfClosed, clearSpool, sendResponseBody } from '../gateway/index.js';
import { listenOn } from '../protocol/index.js';
import { type Reply, S3Call } from './call.js';
import { createContext, type S3Context, type S3Deps } from './context.js';
import { operationOf } from './dispatch.js';
import { errorXml, headersOf, newRequestId, s3FailureOf } from './errors.js';
import { deleteFile } from './files.js';
import { GarbageDrain } from './garbage.js';
import { startOrphanPass } from './gc.js';
import { fastObject } from './object-fast.js';
import { type AuthResult, verifyRequest } from './sigv4.js';
import { parseTarget, type Target } from './target.js';

const SOCKET_IDLE_MS = 120_000;
/**
 * Names this endpoint in x-amz-id-2 (AWS's "host id"), made once per process: base64 of the host
 * id's 24 characters and the request id. 24 is a multiple of 3, so the host id's part is encoded once.
 */
const HOST_ID_B64 = Buffer.from(randomBytes(12).toString('hex')).toString('base64');

export interface S3Listen {
  readonly host: string;
  readonly port: number;
  /** ms a connection may take to send its request headers. */
  readonly headerTimeout?: number;
  readonly maxConnections?: number;
}

export interface S3Handle {
  readonly address: { readonly host: string; readonly port: number };
  readonly context: S3Context;
  readonly garbage: GarbageDrain;
  /** Stops accepting, lets requests in flight finish, stops the garbage drain. */
  close(): Promise<void>;
}

/** Request headers with repeated ones joined: made once, for SigV4 and the operation. */
function headersOfReq(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  const h = req.headers;
  for (const k of Object.keys(h)) {
    const v = h[k];
    out[k] = Array.isArray(v) ? v.join(',') : v;
  }
  return out;
}

/** One request's state, as far as it got: what an error answer and its log line name. */
interface Req {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly expectsContinue: boolean;
  readonly t0: number;
  readonly requestId: string;
  target?: Target;
  call?: S3Call;
}

/** Fields some error codes carry besides Code and Message, as S3 answers them. */
function extraOf(
  code: string,
  target: Target | undefined,
  uploadId: string | undefined,
): Record<string, string> {
  if (code === 'NoSuchBucket' && target?.bucket) return { BucketName: target.bucket };
  if (code === 'NoSuchKey' && target?.key) return { Key: target.key };
  if (code === 'NoSuchUpload' && uploadId) return { UploadId: uploadId };
  return {};
}

/** Request ids are 16 latin1 characters: their base64 is made in one reused buffer, not a new one. */
const ID_BYTES = Buffer.alloc(16);

/**
 * Writes the head with one writeHead of one headers object: headers set earlier with setHeader
 * would make node:http merge and re-validate them one by one on every request.
 */
function writeHead(res: ServerResponse, reply: Reply, requestId: string): void {
  ID_BYTES.write(requestId, 0, 16, 'latin1');
  const headers: Record<string, string | number> = {
    'x-amz-request-id': requestId,
    'x-amz-id-2': HOST_ID_B64 + ID_BYTES.toString('base64'),
    server: 'fdfs-s3',
  };
  const given = reply.headers;
  if (given) for (const name of Object.keys(given)) headers[name] = given[name] as string | number;
  const body = reply.body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) headers['content-length'] = Buffer.byteLength(body);
  else if (body === undefined && headers['content-length'] === undefined && reply.status !== 304)
    headers['content-length'] = 0;
  res.writeHead(reply.status, headers);
}

/** An answer whose body is in memory (or none), written in this turn. */
function sendNow(
  req: IncomingMessage,
  res: ServerResponse,
  reply: Reply,
  body: string | Buffer | undefined,
  requestId: string,
): void {
  writeHead(res, reply, requestId);
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function send(
  req: IncomingMessage,
  res: ServerResponse,
  reply: Reply,
  requestId: string,
): Promise<void> {
  const body = reply.body;
  if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
    sendNow(req, res, reply, body, requestId);
    return;
  }
  writeHead(res, reply, requestId);
  if (req.method === 'HEAD') {
    body.destroy();
    res.end();
    return;
  }
  await sendResponseBody(res, body, reply.file, Number(reply.headers?.['content-length'] ?? -1));
}

export async function startS3(config: S3Config, deps: S3Deps, listen: S3Listen): Promise<S3Handle> {
  let drain: GarbageDrain | undefined;
  const ctx = createContext(config, deps, () => drain?.kick());
  drain = new GarbageDrain(ctx.ns, (fileId) => deleteFile(ctx, fileId), ctx.logger);
  await clearSpool(ctx.spoolDir);
  const local = ctx.local;
  const orphans =
    local && deps.binlogLines
      ? startOrphanPass({
          ns: ctx.ns,
          group: local.group,
          lines: deps.binlogLines,
          remove: (fileId) => deleteFile(ctx, fileId),
          now: ctx.now,
          graceMs: config.gcGrace,
          intervalMs: config.gcInterval,
          logger: ctx.logger,
        })
      : undefined;

  /**
   * One request: its id, target and authentication, then a hot small object answered in this
   * turn (no promise, no S3Call); anything else goes on to `operation`. Everything up to the
   * fast answer is synchronous.
   */
  const handle = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void => {
    const r: Req = { req, res, expectsContinue, t0: performance.now(), requestId: newRequestId() };
    let auth: AuthResult;
    let joined: Record<string, string | undefined> | undefined;
    try {
      const method = req.method;
      const url = req.url ?? '/';
      const now = ctx.now();
      const seen = ctx.presigned.lookup(method, url, req.headers, now);
      if (seen) {
        r.target = seen.target;
        auth = seen.auth;
      } else {
        const target = parseTarget(url, req.headers.host, ctx.domains);
        r.target = target;
        joined = headersOfReq(req);
        auth = verifyRequest(
          {
            method: method ?? 'GET',
            rawPath: target.rawPath,
            rawQuery: target.rawQuery,
            params: target.params,
            headers: joined,
            ...(target.hostBucket !== undefined && { hostBucket: target.hostBucket }),
          },
          ctx.secretOf,
          now,
        );
        ctx.presigned.remember(method, url, req.headers, target, auth);
      }
      // The signature holds: now the client may send the body it held back.
      if (expectsContinue) res.writeContinue();
      const fast = method === 'GET' || method === 'HEAD' ? fastObject(ctx, req, r.target, auth) : undefined;
      if (fast) {
        sendNow(req, res, fast, fast.body, r.requestId);
        return;
      }
    } catch (err) {
      void failed(r, err);
      return;
    }
    void operation(r, auth, joined);
  };

  const operation = async (
    r: Req,
    auth: AuthResult,
    joined: Record<string, string | undefined> | undefined,
  ): Promise<void> => {
    const { req, res } = r;
    try {
      const call = new S3Call(ctx, req, r.target as Target, auth, r.requestId, joined ?? headersOfReq(req));
      r.call = call;
      const reply = await operationOf(call)(call);
      await send(req, res, reply, r.requestId);
      if (reply.status >= 400) log(r, reply.status, undefined);
    } catch (err) {
      await failed(r, err);
    }
  };

  const failed = async (r: Req, err: unknown): Promise<void> => {
    const { req, res, target, call } = r;
    if (res.headersSent) {
      // Mid-body: the client sees a cut-off answer; a client that left is routine.
      if ((err as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') log(r, 500, err);
      res.destroy();
      return;
    }
    if (call) call.abandonBody();
    else if (!req.readableEnded) req.resume();
    const f = s3FailureOf(err);
    const resource = target?.resource ?? (req.url ?? '/').split('?')[0] ?? '/';
    const xml = errorXml(f, resource, r.requestId, extraOf(f.code, target, target?.query.get('uploadId')));
    const headers: Record<string, string | number> = {
      'content-type': 'application/xml',
      ...headersOf(err),
    };
    if (r.expectsContinue && !req.readableEnded) headers.connection = 'close';
    await send(req, res, { status: f.status, headers, body: xml }, r.requestId).catch(() => res.destroy());
    log(r, f.status, err, f.code);
  };

  const log = (r: Req, status: number, err: unknown, code?: string): void => {
    const { req } = r;
    const fields = {
      method: req.method,
      // Without the query: a presigned URL carries its signature there.
      path: (req.url ?? '').split('?')[0],
      status,
      ...(code ? { code } : {}),
      ms: Math.round(performance.now() - r.t0),
      peer: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
      requestId: r.requestId,
      ...(r.call?.owner ? { by: r.call.owner } : {}),
      ...(err === undefined ? {} : { err }),
    };
    if (status >= 500) ctx.logger.error('s3 request failed', fields);
    else ctx.logger.info('s3 request refused', fields);
  };

  const server: Server = createServer(
    {
      headersTimeout: listen.headerTimeout ?? 60_000,
      // Large objects may take long; the header timeout still closes idle connections.
      requestTimeout: 0,
    },
    (req, res) => handle(req, res, false),
  );
  server.on('checkContinue', (req, res) => handle(req, res, true));
  answerHalfClosed(server);
  // No whole-request deadline (large objects), but a connection silent this long mid-request goes.
  server.setTimeout(SOCKET_IDLE_MS);
  if (listen.maxConnections !== undefined) server.maxConnections = listen.maxConnections;
  const addr = await listenOn(server, { role: 's3', host: listen.host, port: listen.port });
  ctx.logger.info('s3 listening', {
    host: addr.address,
    port: addr.port,
    region: config.region,
    owners: config.credentials.length,
    local: ctx.local?.group ?? null,
    cluster: ctx.remote !== undefined,
  });
  const garbage = drain;
  return {
    address: { host: addr.address, port: addr.port },
    context: ctx,
    garbage,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 2000);
      force.unref();
      await closed;
      clearTimeout(force);
      await garbage.close();
      await orphans?.close();
      await ctx.intents.close();
    },
  };
}
