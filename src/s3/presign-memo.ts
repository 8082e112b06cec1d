/**
 * Presigned GET and HEAD URLs verified before, by their exact bytes. A presigned link is handed
 * out once and fetched many times (a page's images, a shared download): each fetch would redo the
 * same signature check over the same bytes (about a third of a cached 4 KB GetObject's CPU here).
 * What the check depends on is all in the key: the method, the Host (signed) and the whole request
 * target (path and query, signature included); a request that brings anything else the check looks
 * at (an Authorization header, any x-amz-* header) is verified in full. The validity window is
 * still checked on every fetch, and an expired link leaves the memo and is refused by the full
 * check. Only verified requests enter, and only on their second visit, so neither a flood of bad
 * signatures nor a stream of one-off links fills it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { MAX_SKEW_MS } from './sigv4.js';
import { parseAmzDate } from './sigv4-parse.js';
import type { AuthResult } from './sigv4-types.js';
import type { Target } from './target.js';

interface Seen {
  readonly target: Target;
  readonly auth: AuthResult;
  readonly notBefore: number;
  readonly notAfter: number;
}

const MAX_ENTRIES = 4096;

/** Whether the request carries nothing besides its target that the signature check reads. */
function bare(method: string | undefined, headers: IncomingHttpHeaders): boolean {
  if ((method !== 'GET' && method !== 'HEAD') || headers.authorization !== undefined) return false;
  for (const name in headers) if (name.startsWith('x-amz-')) return false;
  return true;
}

export class PresignMemo {
  private readonly entries = new Map<string, Seen>();
  /**
   * Signatures verified once, as numbers (their first 13 hex digits): a URL enters the memo when
   * it comes back. Keeping every one-off link's parsed target cost more in garbage collection
   * than its signature check (37 against 18 µs a request for links never seen again).
   */
  private readonly once = new Set<number>();

  /** The target and authentication of a presigned request verified before and still valid. */
  lookup(
    method: string | undefined,
    url: string,
    headers: IncomingHttpHeaders,
    now: number,
  ): Seen | undefined {
    if (this.entries.size === 0 || !bare(method, headers)) return undefined;
    const id = `${method} ${headers.host} ${url}`;
    const seen = this.entries.get(id);
    if (seen === undefined) return undefined;
    if (now < seen.notBefore || now > seen.notAfter) {
      this.entries.delete(id);
      return undefined;
    }
    return seen;
  }

  /** Keeps a request verifyRequest has just accepted, when it is a presigned one signing only Host. */
  remember(
    method: string | undefined,
    url: string,
    headers: IncomingHttpHeaders,
    target: Target,
    auth: AuthResult,
  ): void {
    if (!auth.presigned || !bare(method, headers)) return;
    const q = target.query;
    if (q.get('X-Amz-SignedHeaders') !== 'host' || q.get('X-Amz-Algorithm') === undefined) return;
    const print = Number.parseInt((q.get('X-Amz-Signature') ?? '').slice(0, 13), 16);
    if (!this.once.has(print)) {
      if (this.once.size >= MAX_ENTRIES) this.once.clear();
      this.once.add(print);
      return;
    }
    const date = parseAmzDate(q.get('X-Amz-Date') ?? '');
    const expires = Number(q.get('X-Amz-Expires'));
    if (date === undefined || !Number.isFinite(expires)) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(`${method} ${headers.host} ${url}`, {
      target,
      auth,
      notBefore: date - MAX_SKEW_MS,
      notAfter: date + expires * 1000,
    });
  }
}
