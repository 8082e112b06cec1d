/**
 * Which requests the raw paths answer, and how they are counted: shared by the node:http fast
 * path (serve.ts) and the raw keep-alive connections (raw-conn.ts), so they cannot drift apart.
 */
import { type Gateway, logRequest } from './app.js';
import { fail, httpStatusOf } from './errors.js';
import { errorReply, type FileReply } from './file-get.js';
import { type FileTarget, parseFileUrl } from './file-url.js';

export interface FileAnswer {
  readonly reply: FileReply;
  readonly fileId?: string;
  /** Why the answer is an error, for its log line. */
  readonly cause?: unknown;
}

/** Not a file URL: another route (hono) answers it. */
export const NOT_A_FILE = 0;
/** Not GET or HEAD, and the path passed the checks every method gets: the upload path takes it. */
export const NOT_A_READ = 1;

const PARSED_MAX = 10_000;
/** `.`/`..` segments and encoded dots, slashes or backslashes: never part of a valid route. */
const DOT_SEGMENT = /(?:^|\/)\.{1,2}(?:\/|$)|%2e|%2f|%5c|\\/i;

export class FileRoute {
  // Hot URLs are parsed once: validation is pure, so its answer for a path never changes.
  private readonly parsed = new Map<string, FileTarget>();
  private goodHost: string | undefined;

  constructor(private readonly gw: Gateway) {}

  /**
   * The answer to a request for `path`, now when the file is held in memory, else later;
   * NOT_A_FILE / NOT_A_READ when this route does not take it.
   */
  answer(
    method: string,
    path: string,
    query: string,
    host: string | undefined,
    header: (name: string) => string | undefined,
  ): FileAnswer | Promise<FileAnswer> | typeof NOT_A_FILE | typeof NOT_A_READ {
    const head = method === 'HEAD';
    // A Host that is no URL host (e.g. "-27.0.0.1") made every later `new URL(c.req.url)` throw:
    // a 500 for the client's mistake. Checked once per distinct value.
    if (host !== undefined && host !== this.goodHost) {
      if (!URL.canParse(`http://${host}/`)) {
        const err = fail.badRequest('the Host header is not a valid host');
        return { reply: errorReply(400, err, head), cause: err };
      }
      this.goodHost = host;
    }
    const read = method === 'GET' || head;
    let target = read ? this.parsed.get(path) : undefined;
    // Checked as sent, for every method: hono sees the path only after URL normalization. A
    // path in `parsed` passed this check when it was added.
    if (target === undefined && DOT_SEGMENT.test(path)) {
      const err = fail.badRequest(
        `path ${JSON.stringify(path.slice(0, 140))} has dot segments or encoded separators`,
      );
      return { reply: errorReply(400, err, head), cause: err };
    }
    if (!read) return NOT_A_READ;
    const { ctx, files } = this.gw;
    if (target === undefined) {
      try {
        target = parseFileUrl(path, ctx.defaultGroup);
      } catch (err) {
        return { reply: errorReply(httpStatusOf(err), err, head), cause: err };
      }
      if (target === undefined) return NOT_A_FILE;
      if (this.parsed.size >= PARSED_MAX) this.parsed.clear();
      this.parsed.set(path, target);
    }
    const plain =
      !head &&
      header('range') === undefined &&
      header('if-none-match') === undefined &&
      header('if-modified-since') === undefined;
    const fast = files.fast(target, query, plain, header('accept'));
    if (fast) return { reply: fast };
    const fileId = target.fileId;
    return files.serve({ method: head ? 'HEAD' : 'GET', query, header }, target).then(
      (reply) => ({ reply, fileId }),
      (err: unknown) => ({ reply: errorReply(httpStatusOf(err), err, head, fileId), fileId, cause: err }),
    );
  }

  /** Counts a finished answer; logs it when it failed (a success's line would cost more than it). */
  record(
    method: string,
    path: string,
    a: FileAnswer,
    t0: number,
    peer: () => string,
    err: unknown = a.cause,
  ): void {
    const { reply, fileId } = a;
    const ms = performance.now() - t0;
    const { ctx } = this.gw;
    ctx.metrics.observe('file', method, reply.status, ms / 1000, reply.length);
    if (reply.status < 400 && err === undefined) return;
    // Without the query: token= and sig= are credentials and stay out of the log.
    const fields = { method, path, status: reply.status, ms, peer: peer() };
    logRequest(ctx, fileId ? { ...fields, fileId } : fields, err);
  }
}
