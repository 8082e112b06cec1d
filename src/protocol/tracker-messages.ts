/** Bodies of tracker commands (fact sheet §3), IPv4 profile. Shared by the tracker and the client. */
import { FdfsError, Status } from '../common/index.js';
import { GROUP_NAME_LEN, IP_ADDRESS_SIZE } from './constants.js';
import { BodyReader, BodyWriter } from './fields.js';

const IP_IN_QUERY = IP_ADDRESS_SIZE - 1; // 15: query replies drop the terminator byte

export interface StoreTarget {
  readonly group: string;
  readonly ip: string;
  readonly port: number;
  readonly storePathIndex: number;
}

export function encodeStoreOne(t: StoreTarget): Buffer {
  return new BodyWriter(GROUP_NAME_LEN + IP_IN_QUERY + 9)
    .fixed(t.group, GROUP_NAME_LEN)
    .fixed(t.ip, IP_IN_QUERY)
    .int64(t.port)
    .uint8(t.storePathIndex).buf;
}

export function decodeStoreOne(body: Buffer): StoreTarget {
  if (body.length !== 40)
    throw new FdfsError(Status.EINVAL, `query-store reply of ${body.length} bytes, expected 40`);
  const r = new BodyReader(body, 'query-store reply');
  return {
    group: r.fixed(GROUP_NAME_LEN),
    ip: r.fixed(IP_IN_QUERY),
    port: r.int64(),
    storePathIndex: r.uint8(),
  };
}

export function encodeStoreAll(
  group: string,
  servers: readonly { ip: string; port: number }[],
  pathIndex: number,
): Buffer {
  const w = new BodyWriter(GROUP_NAME_LEN + servers.length * (IP_IN_QUERY + 8) + 1).fixed(
    group,
    GROUP_NAME_LEN,
  );
  for (const s of servers) w.fixed(s.ip, IP_IN_QUERY).int64(s.port);
  return w.uint8(pathIndex).buf;
}

export function decodeStoreAll(body: Buffer): StoreTarget[] {
  const n = (body.length - GROUP_NAME_LEN - 1) / (IP_IN_QUERY + 8);
  if (!Number.isInteger(n) || n < 1)
    throw new FdfsError(Status.EINVAL, `query-store-all reply of ${body.length} bytes`);
  const r = new BodyReader(body, 'query-store-all reply');
  const group = r.fixed(GROUP_NAME_LEN);
  const list: { ip: string; port: number }[] = [];
  for (let i = 0; i < n; i++) list.push({ ip: r.fixed(IP_IN_QUERY), port: r.int64() });
  const storePathIndex = body.readUInt8(body.length - 1);
  return list.map((s) => ({ group, ...s, storePathIndex }));
}

export interface FetchTarget {
  readonly group: string;
  readonly ip: string;
  readonly port: number;
}

/**
 * Fetch-one / update reply (39 bytes) and fetch-all. Fetch-all uses the classic layout (later
 * entries carry no port and share the first one's) while every storage listens on the same port,
 * which is what old clients parse; when ports differ (several storages of a group on one host) it
 * uses the V6.16 layout, one port per entry, since the classic one cannot express that.
 */
export function encodeFetch(group: string, servers: readonly { ip: string; port: number }[]): Buffer {
  const first = servers[0];
  if (!first) throw new FdfsError(Status.ENOENT, 'no storage to answer with');
  const withPorts = servers.some((s) => s.port !== first.port);
  const entry = withPorts ? IP_IN_QUERY + 8 : IP_IN_QUERY;
  const w = new BodyWriter(GROUP_NAME_LEN + IP_IN_QUERY + 8 + (servers.length - 1) * entry)
    .fixed(group, GROUP_NAME_LEN)
    .fixed(first.ip, IP_IN_QUERY)
    .int64(first.port);
  for (const s of servers.slice(1)) {
    w.fixed(s.ip, IP_IN_QUERY);
    if (withPorts) w.int64(s.port);
  }
  return w.buf;
}

/** An IP field: printable text, then only NUL padding. */
function isIpField(b: Buffer): boolean {
  const nul = b.indexOf(0);
  const end = nul < 0 ? b.length : nul;
  if (end === 0) return false;
  for (let i = 0; i < end; i++) if ((b[i] ?? 0) < 0x21 || (b[i] ?? 0) > 0x7e) return false;
  for (let i = end; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** True when the body reads as V6.16 entries: every IP field is text and every port is 1..65535. */
function hasPortPerEntry(body: Buffer, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const at = 39 + i * (IP_IN_QUERY + 8);
    if (!isIpField(body.subarray(at, at + IP_IN_QUERY))) return false;
    const port = body.readBigInt64BE(at + IP_IN_QUERY);
    if (port < 1n || port > 65535n) return false;
  }
  return true;
}

export function decodeFetch(body: Buffer): FetchTarget[] {
  const rest = body.length - 39;
  const classic = rest >= 0 && rest % IP_IN_QUERY === 0;
  const v616 = rest > 0 && rest % (IP_IN_QUERY + 8) === 0 && hasPortPerEntry(body, rest / (IP_IN_QUERY + 8));
  if (!classic && !v616) throw new FdfsError(Status.EINVAL, `query-fetch reply of ${body.length} bytes`);
  const r = new BodyReader(body, 'query-fetch reply');
  const group = r.fixed(GROUP_NAME_LEN);
  const ip = r.fixed(IP_IN_QUERY);
  const port = r.int64();
  const out: FetchTarget[] = [{ group, ip, port }];
  if (v616) {
    while (r.remaining > 0) out.push({ group, ip: r.fixed(IP_IN_QUERY), port: r.int64() });
  } else {
    while (r.remaining > 0) out.push({ group, ip: r.fixed(IP_IN_QUERY), port });
  }
  return out;
}

/** Request body of 102/103/105: group str[16] + remote filename. */
export function encodeGroupAndName(group: string, remote: string): Buffer {
  const name = Buffer.from(remote, 'utf8');
  return new BodyWriter(GROUP_NAME_LEN + name.length).fixed(group, GROUP_NAME_LEN).bytes(name).buf;
}

export function decodeGroupAndName(body: Buffer, what: string): { group: string; remote: string } {
  const r = new BodyReader(body, what);
  return { group: r.fixed(GROUP_NAME_LEN), remote: r.rest().toString('utf8') };
}
