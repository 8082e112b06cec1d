/**
 * The raw node:http path for POST /upload and PUT /upload/<name>: UploadService reads the
 * IncomingMessage itself, where through hono the body is turned into a web ReadableStream and
 * back into a Node stream for busboy. Answers, limits, rollback, metrics and logs are the hono
 * routes' own (same service, same error table). Requests whose URL or Host header
 * @hono/node-server would rewrite or refuse, and names that do not decode, are left to hono.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Gateway, logRequest } from './app.js';
import { type Body, nodeBody } from './body.js';
import { CLIENT_CLOSED, errorBody, httpStatusOf } from './errors.js';
import type { UploadRequest } from './upload-service.js';

/** What @hono/node-server's buildUrl takes as it is (its reValidRequestUrl and reValidHost). */
const PLAIN_TARGET = /^\/[!#$&-;=?-[\]_a-z~]*$/;
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;
const PUT_PATH = /^\/upload\/([^/]+)$/;

function fromNode(req: IncomingMessage): UploadRequest & { readonly opened: Body | undefined } {
  let body: Body | undefined;
  return {
    header(name) {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    headers() {
      const out: [string, string][] = [];
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') out.push([k, v]);
      return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    },
    body() {
      body ??= nodeBody(req);
      return body;
    },
    get opened() {
      return body;
    },
    peer: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
    origin: () => `http://${req.headers.host}`,
  };
}

/** True when it took the request, false to hand it to hono. */
export function rawUploads(
  gw: Gateway,
): (req: IncomingMessage, res: ServerResponse, path: string, query: string) => boolean {
  const { ctx, uploads } = gw;
  return (req, res, path, query) => {
    const method = req.method;
    if (method !== 'POST' && method !== 'PUT') return false;
    const host = req.headers.host;
    if (host === undefined || !PLAIN_HOST.test(host) || !PLAIN_TARGET.test(req.url ?? '')) return false;
    const t0 = performance.now();
    const input = fromNode(req);
    let work: Promise<unknown>;
    if (method === 'POST') {
      if (path !== '/upload') return false;
      work = uploads.post(input);
    } else {
      const m = PUT_PATH.exec(path);
      if (!m?.[1]) return false;
      let name: string;
      try {
        name = decodeURIComponent(m[1]);
      } catch {
        return false; // hono keeps what does not decode as it is
      }
      work = uploads.put(input, name, new URLSearchParams(query).get('group') ?? undefined);
    }
    const answer = (status: number, json: unknown, err?: unknown) => {
      const text = JSON.stringify(json);
      const headers: Record<string, string | number> = {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
      };
      if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
      res.writeHead(status, headers);
      res.end(text);
      const ms = performance.now() - t0;
      // 0 bytes out, as through hono: the counter is for file bytes, not JSON answers.
      ctx.metrics.observe('upload', method, status, ms / 1000, 0);
      logRequest(ctx, { method, path, status, ms, peer: input.peer }, err);
    };
    work.then(
      (json) => answer(200, json),
      (err: unknown) => {
        // The client hung up: nobody to answer, and its doing, not ours (499, as nginx logs it).
        if (req.socket.destroyed) {
          const ms = performance.now() - t0;
          ctx.metrics.observe('upload', method, CLIENT_CLOSED, ms / 1000, 0);
          logRequest(ctx, { method, path, status: CLIENT_CLOSED, ms, peer: input.peer }, err);
          return;
        }
        // Refused before the body was read (auth, content type): drop it with the same cap.
        (input.opened ?? input.body()).abandon();
        answer(httpStatusOf(err), errorBody(err), err);
      },
    );
    return true;
  };
}
