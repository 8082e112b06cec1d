/**
 * What a request addresses: bucket and key from the Host (virtual-host style, `bucket.domain`)
 * or the path (path style, `/bucket/key`), and the query. Keys are opaque: `%2F`, `//` and `..`
 * stay exactly as decoded, since a key is a name in the namespace and never a file path.
 */
import { s3Error } from './errors.js';
import { parseQuery, type QueryParam } from './sigv4.js';

export interface Target {
  readonly bucket: string | undefined;
  readonly key: string | undefined;
  /** The path as on the wire (still %-encoded), for SigV4 and Resource. */
  readonly rawPath: string;
  readonly rawQuery: string;
  /** rawQuery split and decoded in order (sigv4's reading), for the signature check. */
  readonly params: readonly QueryParam[];
  /** Decoded query; a name given without `=` maps to ''. The first value of a repeated name wins. */
  readonly query: ReadonlyMap<string, string>;
  /** The decoded path, for `<Resource>`. */
  readonly resource: string;
  /** Set when the Host named the bucket (virtual-host style). */
  readonly hostBucket?: string;
}

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw s3Error('InvalidArgument', 'The request path is not valid percent-encoded UTF-8.');
  }
}

/** The query as the signature was checked over it (sigv4's reading: '+' is a plus). */
function mapOf(params: readonly QueryParam[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const { name, value } of params) if (!out.has(name)) out.set(name, value);
  return out;
}

/** The bucket named by a Host of `bucket.<domain>[:port]`, when `domain` is one of ours. */
export function bucketOfHost(host: string | undefined, domains: readonly string[]): string | undefined {
  if (!host) return undefined;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  for (const d of domains) {
    if (name.length > d.length + 1 && name.endsWith(`.${d}`)) return name.slice(0, -(d.length + 1));
  }
  return undefined;
}

/**
 * The origin-form of an absolute-form target (`http://host/path?q`, as clients send it through a
 * proxy). Its authority must be the Host header: the signature covers Host, not the request line,
 * so a different authority could otherwise steer a signed request to another bucket.
 */
function originForm(url: string, host: string | undefined): string {
  if (url.charCodeAt(0) === 0x2f) return url; // '/': origin-form already, as nearly every client sends
  const abs = /^https?:\/\/([^/?#]*)/i.exec(url);
  if (!abs) return url;
  if ((abs[1] ?? '').toLowerCase() !== (host ?? '').toLowerCase()) {
    throw s3Error('InvalidArgument', 'The host of an absolute request target must be the Host header.');
  }
  const rest = url.slice(abs[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

export function parseTarget(target: string, host: string | undefined, domains: readonly string[]): Target {
  const url = originForm(target, host);
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  if (!rawPath.startsWith('/')) throw s3Error('InvalidArgument', 'The request target must start with /.');
  const path = decodePath(rawPath);
  const params = parseQuery(rawQuery);
  const query = mapOf(params);
  const hosted = bucketOfHost(host, domains);
  if (hosted !== undefined) {
    const key = path.slice(1);
    return {
      bucket: hosted,
      key: key === '' ? undefined : key,
      rawPath,
      rawQuery,
      params,
      query,
      resource: `/${hosted}${path}`,
      hostBucket: hosted,
    };
  }
  const slash = path.indexOf('/', 1);
  const bucket = slash < 0 ? path.slice(1) : path.slice(1, slash);
  const key = slash < 0 ? '' : path.slice(slash + 1);
  return {
    bucket: bucket === '' ? undefined : bucket,
    key: key === '' ? undefined : key,
    rawPath,
    rawQuery,
    params,
    query,
    resource: path,
  };
}
