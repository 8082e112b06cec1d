/**
 * The AWS SDK's own SigV4 signer (@smithy/signature-v4), set up as @aws-sdk/client-s3 sets it up
 * for S3 (path not escaped again, no checksum header added), to sign test requests independently
 * of src/s3. Only the hash primitive is ours: node:crypto behind smithy's Checksum interface.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

class NodeSha256 {
  #h: Hash | Hmac;
  readonly #secret: SourceData | undefined;
  constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#h = this.#fresh();
  }
  #fresh(): Hash | Hmac {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.#secret));
  }
  update(data: Uint8Array): void {
    this.#h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#h.digest());
  }
  reset(): void {
    this.#h = this.#fresh();
  }
}

export function smithySigner(
  accessKeyId: string,
  secretAccessKey: string,
  region = 'us-east-1',
): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId, secretAccessKey },
    region,
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
}

/** RFC 3986 query encoding as the SDK's HTTP handlers put a query on the wire. */
export function wireQuery(query: Record<string, string | null>): string {
  const enc = (s: string) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return Object.entries(query)
    .map(([k, v]) => (v === null ? enc(k) : `${enc(k)}=${enc(v)}`))
    .join('&');
}

/** Lower-cases header names, as node:http hands them to a server. */
export function lowerHeaders(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}
