/** A real `fdfs start` with its S3 endpoint, and an @aws-sdk/client-s3 client with default settings. */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';
import { type RunningNode, startNode } from './node-process.js';

export interface S3Node {
  readonly node: RunningNode;
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  client(opts?: { accessKeyId?: string; secretAccessKey?: string; forcePathStyle?: boolean }): S3Client;
  /** Files under the node's spool folders: none may outlive a request. */
  tempFiles(): Promise<string[]>;
  stop(): Promise<void>;
}

/** `credentials`: ACCESS:SECRET pairs set through --set (the first is the client's); none = the one fdfs start makes. */
/** `base`: a data folder the caller keeps (restarts on the same folder); none = a temp one removed at stop. */
export async function startS3Node(
  opts: { args?: string[]; credentials?: string[]; base?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<S3Node> {
  const sets = (opts.credentials ?? []).flatMap((c) => ['--set', `s3.credential=${c}`]);
  const node = await startNode({
    args: [...sets, ...(opts.args ?? [])],
    ...(opts.base === undefined ? {} : { base: opts.base }),
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
  const first = opts.credentials?.[0] ?? (await readFile(join(node.base, 's3-credentials'), 'utf8')).trim();
  const colon = first.indexOf(':');
  const accessKeyId = first.slice(0, colon);
  const secretAccessKey = first.slice(colon + 1);
  const endpoint = `http://${node.s3.host}:${node.s3.port}`;
  const clients: S3Client[] = [];
  return {
    node,
    endpoint,
    accessKeyId,
    secretAccessKey,
    client(opts = {}) {
      const c = new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: opts.forcePathStyle ?? true,
        credentials: {
          accessKeyId: opts.accessKeyId ?? accessKeyId,
          secretAccessKey: opts.secretAccessKey ?? secretAccessKey,
        },
      });
      clients.push(c);
      return c;
    },
    async tempFiles() {
      const out: string[] = [];
      for (const dir of ['s3-tmp', 'gateway/tmp']) {
        const names = await readdir(join(node.base, dir)).catch(() => []);
        out.push(...names.map((n) => join(dir, n)));
      }
      return out;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await node.stop();
    },
  };
}

/** The body of a GetObject answer as a Buffer (fails the test when there is none). */
export async function bodyOf(out: {
  Body?: { transformToByteArray(): Promise<Uint8Array> };
}): Promise<Buffer> {
  if (!out.Body) throw new Error('the answer has no body');
  return Buffer.from(await out.Body.transformToByteArray());
}

/** node:crypto as the hash @smithy/signature-v4 takes (SHA-256, or HMAC-SHA-256 with a secret). */
class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined
      ? createHash('sha256')
      : createHmac('sha256', Buffer.from(this.secret as Uint8Array));
  }
  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/**
 * A request signed by @smithy/signature-v4 (the AWS SDK's own signer) and sent as is, for bodies
 * no SDK command would send: malformed XML, a body that is not what was signed, a huge length.
 * `sendBody` (default `body`) is what actually goes on the wire.
 */
export async function signedRequest(
  s3: S3Node,
  o: {
    method: string;
    path: string;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    body?: Buffer | string;
    sendBody?: Buffer | string;
    payloadHash?: string;
    /** Send the headers, then this many body bytes, and read the answer without finishing. */
    partial?: number;
  },
): Promise<RawAnswer> {
  const signer = new SignatureV4({
    service: 's3',
    region: 'us-east-1',
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    sha256: NodeSha256 as never,
  });
  const host = `${s3.node.s3.host}:${s3.node.s3.port}`;
  const body = o.body === undefined ? undefined : Buffer.from(o.body);
  const payloadHash =
    o.payloadHash ??
    createHash('sha256')
      .update(body ?? Buffer.alloc(0))
      .digest('hex');
  const signed = await signer.sign({
    method: o.method,
    protocol: 'http:',
    hostname: s3.node.s3.host,
    port: s3.node.s3.port,
    path: o.path,
    query: o.query ?? {},
    headers: { host, 'x-amz-content-sha256': payloadHash, ...(o.headers ?? {}) },
  });
  const qs = new URLSearchParams(o.query ?? {}).toString().replace(/\+/g, '%20');
  const wire = o.sendBody === undefined ? body : Buffer.from(o.sendBody);
  const headers: Record<string, string> = { ...(signed.headers as Record<string, string>) };
  const chunked = headers['transfer-encoding'] !== undefined;
  if (wire !== undefined && headers['content-length'] === undefined && !chunked) {
    headers['content-length'] = String(wire.length);
  }
  return new Promise<RawAnswer>((resolve, reject) => {
    const req = request(
      {
        host: s3.node.s3.host,
        port: s3.node.s3.port,
        method: o.method,
        path: qs ? `${o.path}?${qs}` : o.path,
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
          });
          if (o.partial !== undefined) req.destroy();
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      if (o.partial === undefined) reject(err);
    });
    if (o.partial !== undefined) {
      req.write(Buffer.alloc(o.partial, 0x61));
      return;
    }
    // Chunked: the body goes in two writes, so node frames it and no length is stated.
    if (chunked && wire !== undefined) {
      req.write(wire.subarray(0, 1));
      req.end(wire.subarray(1));
    } else req.end(wire);
  });
}
