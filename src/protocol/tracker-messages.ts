/**
 * Bodies of tracker commands (fact sheet §3). We emit the IPv4 profile; decoders also read the
 * 46-byte-IP replies of FastDFS V6.11–V6.14. Shared by the tracker and the client.
 */
import { FdfsError, Status } from '../common/index.js';
import { GROUP_NAME_LEN, IP_ADDRESS_SIZE } from './constants.js';
import { BodyReader, BodyWriter } from './fields.js';

const IP_IN_QUERY = IP_ADDRESS_SIZE - 1; // 15: query replies drop the terminator byte
/** V6.11–V6.14 trackers always answer with 46-byte IP fields (45 in query replies). */
const IP6_IN_QUERY = 45;

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

/**
 * 40 bytes from trackers with 16-byte IP fields (≤ V6.10, V6.15+, ours), 70 from V6.11–V6.14,
 * which always send 46-byte IP fields: both are read, as Java ≥ 1.33 does.
 */
export function decodeStoreOne(body: Buffer): StoreTarget {
  const ipWidth = body.length === 40 ? IP_IN_QUERY : body.length === 70 ? IP6_IN_QUERY : 0;
  if (!ipWidth)
    throw new FdfsError(Status.EINVAL, `query-store reply of ${body.length} bytes, expected 40 or 70`);
  const r = new BodyReader(body, 'query-store reply');
  return {
    group: r.fixed(GROUP_NAME_LEN),
    ip: r.fixed(ipWidth),
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
  for (const ipWidth of [IP_IN_QUERY, IP6_IN_QUERY]) {
    const n = (body.length - GROUP_NAME_LEN - 1) / (ipWidth + 8);
    if (!Number.isInteger(n) || n < 1 || !entriesLookRight(body, GROUP_NAME_LEN, n, ipWidth)) continue;
    const r = new BodyReader(body, 'query-store-all reply');
    const group = r.fixed(GROUP_NAME_LEN);
    const list: { ip: string; port: number }[] = [];
    for (let i = 0; i < n; i++) list.push({ ip: r.fixed(ipWidth), port: r.int64() });
    const storePathIndex = body.readUInt8(body.length - 1);
    return list.map((x) => ({ group, ...x, storePathIndex }));
  }
  throw new FdfsError(Status.EINVAL, `query-store-all reply of ${body.length} bytes`);
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

/** True when `n` entries of IP (ipWidth) + port from `at` are all IP text and ports 1..65535. */
function entriesLookRight(body: Buffer, at: number, n: number, ipWidth: number): boolean {
  for (let i = 0; i < n; i++) {
    const off = at + i * (ipWidth + 8);
    if (off + ipWidth + 8 > body.length || !isIpField(body.subarray(off, off + ipWidth))) return false;
    const port = body.readBigInt64BE(off + ipWidth);
    if (port < 1n || port > 65535n) return false;
  }
  return true;
}

/**
 * Fetch-one/update (39 or 69 bytes) and fetch-all in any layout a tracker sends: 15- or 45-byte IP
 * fields (V6.11–V6.14 always use 45), later entries IP-only (classic) or IP + port (V6.16). The
 * lengths can fit more than one layout, so each candidate is read only if every entry looks like
 * an address and a port.
 */
export function decodeFetch(body: Buffer): FetchTarget[] {
  for (const ipWidth of [IP_IN_QUERY, IP6_IN_QUERY]) {
    const head = GROUP_NAME_LEN + ipWidth + 8;
    const rest = body.length - head;
    if (rest < 0 || !entriesLookRight(body, GROUP_NAME_LEN, 1, ipWidth)) continue;
    const withPorts =
      rest > 0 && rest % (ipWidth + 8) === 0 && entriesLookRight(body, head, rest / (ipWidth + 8), ipWidth);
    const ipOnly = rest % ipWidth === 0 && ipFieldsLookRight(body, head, rest / ipWidth, ipWidth);
    if (!withPorts && !ipOnly) continue;
    const r = new BodyReader(body, 'query-fetch reply');
    const group = r.fixed(GROUP_NAME_LEN);
    const ip = r.fixed(ipWidth);
    const port = r.int64();
    const out: FetchTarget[] = [{ group, ip, port }];
    while (r.remaining > 0)
      out.push(
        withPorts ? { group, ip: r.fixed(ipWidth), port: r.int64() } : { group, ip: r.fixed(ipWidth), port },
      );
    return out;
  }
  throw new FdfsError(Status.EINVAL, `query-fetch reply of ${body.length} bytes`);
}

function ipFieldsLookRight(body: Buffer, at: number, n: number, ipWidth: number): boolean {
  for (let i = 0; i < n; i++) {
    const off = at + i * ipWidth;
    if (!isIpField(body.subarray(off, off + ipWidth))) return false;
  }
  return true;
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
