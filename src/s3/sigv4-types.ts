import type { QueryParam } from './sigv4-canonical.js';

/** One S3 request as the verifier needs it: the bytes the client signed, before any decoding. */
export interface S3Request {
  readonly method: string;
  /** The path as on the wire, still %-encoded, without the query. */
  readonly rawPath: string;
  /** The query as on the wire, without the leading '?'. */
  readonly rawQuery: string;
  /** rawQuery as parseQuery splits it, when the caller has it already (parsed here otherwise). */
  readonly params?: readonly QueryParam[];
  /** Lower-case names; repeated headers joined as node:http joins them. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The bucket a virtual-host request names in its Host: SigV2 signs it in its resource. */
  readonly hostBucket?: string;
}

/** Checks the chained signatures of aws-chunked framing (STREAMING-AWS4-HMAC-SHA256-PAYLOAD…). */
export interface ChunkSigner {
  /** True when `signature` signs a chunk whose bytes hash to `sha256Hex`; advances the chain only then. */
  verifyChunk(sha256Hex: string, signature: string): boolean;
  /** True when `signature` signs the trailer block (`name:value\n` lines) hashing to `sha256Hex`. */
  verifyTrailer(sha256Hex: string, signature: string): boolean;
}

export type PayloadMode =
  /** The body must hash to this (verify while streaming: bodyVerifier). */
  | { readonly kind: 'sha256'; readonly sha256: string }
  | { readonly kind: 'unsigned' }
  /** STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: awsChunkedDecoder checks every chunk. */
  | { readonly kind: 'streaming-signed'; readonly trailer: boolean; readonly chunks: ChunkSigner }
  /** STREAMING-UNSIGNED-PAYLOAD-TRAILER. */
  | { readonly kind: 'streaming-unsigned-trailer' };

export interface AuthResult {
  /** undefined = anonymous (no Authorization header, no presigned query). */
  readonly accessKey: string | undefined;
  readonly payload: PayloadMode;
  readonly presigned: boolean;
  /** The region of the credential scope; '' for anonymous requests. */
  readonly region: string;
}
