/**
 * `allow_hosts` as FastDFS documents it: the key may repeat; each value is `*` (everyone), an
 * address, a CIDR block (`192.168.5.64/26`), one bracket range per value (`10.0.1.[1-15,20]`,
 * `host[01-08,20-25].example.com`) or a host name. No allow_hosts at all means everyone.
 * Parsing and matching are pure; host names are resolved once at start by the caller's lookup.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export type AllowRule =
  | { readonly kind: 'any' }
  /** IPv4 addresses from..to inclusive, as unsigned 32-bit numbers (an address, a range, a CIDR). */
  | { readonly kind: 'v4'; readonly from: number; readonly to: number }
  /** An IPv6 address, compared exactly (lower case). */
  | { readonly kind: 'v6'; readonly ip: string }
  | { readonly kind: 'host'; readonly name: string };

const HOST_RE = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

function v4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) → `10.0.0.1`. */
export function plainAddress(ip: string): string {
  return ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}

/** `a[1-3,7]b` → a1b a2b a3b a7b; a bound's leading zeros set the width (`[01-03]` → 01 02 03). */
function expandBrackets(text: string): string[] | undefined {
  const m = /^([^[\]]*)\[([^[\]]+)\]([^[\]]*)$/.exec(text);
  if (!m) return text.includes('[') || text.includes(']') ? undefined : [text];
  const [, head = '', body = '', tail = ''] = m;
  const out: string[] = [];
  for (const part of body.split(',')) {
    const r = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!r?.[1]) return undefined;
    const lo = Number(r[1]);
    const hi = r[2] === undefined ? lo : Number(r[2]);
    if (hi < lo || hi - lo > 65_535) return undefined;
    const width = r[1].length;
    for (let i = lo; i <= hi; i++) out.push(`${head}${String(i).padStart(width, '0')}${tail}`);
  }
  return out;
}

function parseOne(item: string): AllowRule | undefined {
  if (item === '*') return { kind: 'any' };
  const slash = item.indexOf('/');
  if (slash >= 0) {
    const ip = item.slice(0, slash);
    const bits = item.slice(slash + 1);
    if (isIP(ip) !== 4 || !/^\d{1,2}$/.test(bits) || Number(bits) > 32) return undefined;
    const size = 2 ** (32 - Number(bits));
    const from = Math.floor(v4ToNumber(ip) / size) * size;
    return { kind: 'v4', from, to: from + size - 1 };
  }
  const family = isIP(item);
  if (family === 4) {
    const n = v4ToNumber(item);
    return { kind: 'v4', from: n, to: n };
  }
  if (family === 6) return { kind: 'v6', ip: plainAddress(item).toLowerCase() };
  // Something with only digits and dots that is not an address is a typo, not a host name.
  if (/^[\d.]+$/.test(item) || !HOST_RE.test(item)) return undefined;
  return { kind: 'host', name: item.toLowerCase() };
}

/**
 * One allow_hosts value → its rules, or undefined when it is not a valid form. Values may hold
 * several items separated by commas outside brackets or by spaces.
 */
export function parseAllowHostsValue(value: string): AllowRule[] | undefined {
  const items = value.match(/[^\s,[\]]*\[[^\]]*\][^\s,]*|[^\s,]+/g) ?? [];
  if (items.length === 0) return undefined;
  const rules: AllowRule[] = [];
  for (const item of items) {
    const expanded = expandBrackets(item);
    if (!expanded) return undefined;
    for (const one of expanded) {
      const rule = parseOne(one);
      if (!rule) return undefined;
      rules.push(rule);
    }
  }
  return rules;
}

/** True when `ip` (as a socket reports it) is allowed. An empty rule list allows everyone. */
export function allowHostsMatch(rules: readonly AllowRule[], ip: string): boolean {
  if (rules.length === 0) return true;
  const addr = plainAddress(ip);
  const family = isIP(addr);
  const n = family === 4 ? v4ToNumber(addr) : -1;
  const lower = addr.toLowerCase();
  return rules.some((r) => {
    switch (r.kind) {
      case 'any':
        return true;
      case 'v4':
        return n >= r.from && n <= r.to;
      case 'v6':
        return family === 6 && r.ip === lower;
      default:
        return false; // a host name: resolved to addresses by resolveAllowHosts before use
    }
  });
}

/**
 * Replaces host-name rules by the addresses they resolve to (once, at start). A name that does
 * not resolve allows nobody and is reported through `onUnresolved`.
 */
export async function resolveAllowHosts(
  rules: readonly AllowRule[],
  lookup: (name: string) => Promise<readonly string[]>,
  onUnresolved: (name: string, err: unknown) => void,
): Promise<AllowRule[]> {
  const out: AllowRule[] = [];
  for (const r of rules) {
    if (r.kind !== 'host') {
      out.push(r);
      continue;
    }
    try {
      for (const ip of await lookup(r.name)) {
        const resolved = parseOne(plainAddress(ip));
        if (resolved && resolved.kind !== 'host') out.push(resolved);
      }
    } catch (err) {
      onUnresolved(r.name, err);
    }
  }
  // Rules that were all unresolvable names must still refuse everyone, not fall back to "all":
  // an empty range (from > to), which no client matches, IPv6 ones included (their n is -1).
  if (out.length === 0 && rules.length > 0) out.push({ kind: 'v4', from: 1, to: 0 });
  return out;
}

/**
 * For a server's accept path: the rules with host names resolved through DNS, as a predicate
 * over the socket's remote address. `warn` hears about names that do not resolve.
 */
export async function allowHostsFilter(
  rules: readonly AllowRule[],
  warn: (name: string, err: unknown) => void,
): Promise<(ip: string) => boolean> {
  if (rules.length === 0 || rules.some((r) => r.kind === 'any')) return () => true;
  const resolved = await resolveAllowHosts(
    rules,
    async (name) => (await lookup(name, { all: true })).map((a) => a.address),
    warn,
  );
  return (ip) => allowHostsMatch(resolved, ip);
}
