/** One S3 request as the operations see it, and what they answer. */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { SendableFile } from '../gateway/index.js';
import type { BucketRecord } from '../namespace/index.js';
import { discard, type RequestBody, requestBody } from './body.js';
import type { S3Context } from './context.js';
import { s3Error } from './errors.js';
import type { AuthResult } from './sigv4.js';
import type { Target } from './target.js';
import { doc, type Xml } from './xml-write.js';

export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly body?: string | Buffer | Readable;
  /**
   * The body as content-length bytes of one open local file, for sendfile: the server either
   * sends it and calls release(ok), or streams `body`, never both (see FileReply.file).
   */
  readonly file?: SendableFile;
}

export class S3Call {
  private opened: RequestBody | undefined;

  constructor(
    readonly ctx: S3Context,
    readonly req: IncomingMessage,
    readonly target: Target,
    readonly auth: AuthResult,
    readonly requestId: string,
    /** Request headers, lower-case names, repeated ones joined (as the signature saw them). */
    readonly headers: Readonly<Record<string, string | undefined>>,
  ) {}

  get method(): string {
    return this.req.method ?? 'GET';
  }

  /** The authenticated access key; undefined for an anonymous request. */
  get owner(): string | undefined {
    return this.auth.accessKey;
  }

  header(name: string): string | undefined {
    return this.headers[name];
  }

  q(name: string): string | undefined {
    return this.target.query.get(name);
  }

  has(name: string): boolean {
    return this.target.query.has(name);
  }

  get bucket(): string {
    const b = this.target.bucket;
    if (b === undefined) throw s3Error('InvalidRequest', 'This operation needs a bucket.');
    return b;
  }

  get key(): string {
    const k = this.target.key;
    if (k === undefined) throw s3Error('InvalidRequest', 'This operation needs an object key.');
    return k;
  }

  /** The request body, decoded and verified while it streams; opened once. */
  body(): RequestBody {
    this.opened ??= requestBody(this.req, this.headers, this.auth.payload);
    return this.opened;
  }

  /** Drops an unread body after a failure, so the error answer still reaches the client. */
  abandonBody(): void {
    if (this.opened) this.opened.abandon();
    else discard(this.req);
  }

  /** The bucket, if it exists and this caller may use it (owner; `read` also when public). */
  async ownedBucket(access: 'read' | 'write' = 'write'): Promise<BucketRecord> {
    const b = await this.ctx.ns.getBucket(this.bucket);
    // Anonymous callers get one answer for a missing and a private bucket: no probing for names.
    if (!b && this.owner === undefined) throw s3Error('AccessDenied', 'Access Denied');
    if (!b) throw s3Error('NoSuchBucket', 'The specified bucket does not exist.');
    if (this.owner === undefined) {
      if (access === 'read' && b.public) return b;
      throw s3Error('AccessDenied', 'Access Denied');
    }
    if (b.owner !== this.owner) throw s3Error('AccessDenied', 'Access Denied');
    return b;
  }
}

export function xmlReply(top: Xml, status = 200, headers: Record<string, string | number> = {}): Reply {
  return { status, headers: { 'content-type': 'application/xml', ...headers }, body: doc(top) };
}
