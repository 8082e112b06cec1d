/**
 * Exact answers of a real gateway beside an in-process tracker + storage: Range headers as
 * RFC 9110 has them (unknown units ignored, positions past the end clamped whatever their
 * length), signed links checked against http.jwt.max_ttl and their iat, and error bodies that
 * name the file and the reason but never a storage's address.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogFields, Logger } from '../src/common/index.js';
import { type GatewayHandle, startGateway } from '../src/gateway/index.js';
import { type InProcessCluster, startCluster } from './helpers/gateway-cluster.js';

const SECRET = 'k'.repeat(32);
const MAX_TTL_SEC = 3600;
const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7 + 3) & 0xff));
const huge = '9'.repeat(30); // beyond 2^64

/** Every log line, flattened to text, to see what the log keeps that the answer leaves out. */
function recordingLogger(lines: string[]): Logger {
  const log =
    (level: string, base: LogFields) =>
    (msg: string, fields: LogFields = {}) =>
      lines.push(`${level} ${msg} ${JSON.stringify({ ...base, ...fields }, errText)}`);
  const make = (base: LogFields): Logger => ({
    debug: log('debug', base),
    info: log('info', base),
    warn: log('warn', base),
    error: log('error', base),
    child: (f) => make({ ...base, ...f }),
  });
  return make({});
}

function errText(_key: string, v: unknown): unknown {
  return v instanceof Error ? { message: v.message } : v;
}

let cl: InProcessCluster;
let gw: GatewayHandle;
let remoteOnly: GatewayHandle;
let origin: string;
let remoteOrigin: string;
let fileId: string;
const clock = { ms: Date.now() };
const sec = () => Math.floor(clock.ms / 1000);
const logs: string[] = [];

beforeAll(async () => {
  cl = await startCluster();
  gw = await startGateway(
    cl.httpConfig({ 'http.jwt.secret': SECRET, 'http.jwt.max_ttl': `${MAX_TTL_SEC}s` }),
    {
      local: cl.local,
      remote: cl.client,
      now: () => clock.ms,
    },
  );
  origin = `http://127.0.0.1:${gw.address.port}`;
  // The cluster only: every download goes over the wire to the storage, as on a gateway host.
  remoteOnly = await startGateway(cl.httpConfig(), { remote: cl.client, logger: recordingLogger(logs) });
  remoteOrigin = `http://127.0.0.1:${remoteOnly.address.port}`;
  fileId = await cl.client.upload(data, { ext: 'bin' });
}, 30_000);

afterAll(async () => {
  await remoteOnly?.close();
  await gw?.close();
  await cl?.close();
});

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

describe('Range (RFC 9110 §14)', () => {
  it.each(['items=0-10', 'lines = 1-2'])(
    'ignores the unknown unit in %s: 200, the whole file',
    async (range) => {
      for (const base of [origin, remoteOrigin]) {
        const { res, body } = await get(`${base}/${fileId}`, { Range: range });
        expect(res.status, base).toBe(200);
        expect(res.headers.get('content-range')).toBeNull();
        expect(body.equals(data)).toBe(true);
      }
    },
  );

  it.each([
    [`bytes=0-${huge}`, 0],
    ['bytes=0-18446744073709551616', 0], // 2^64
    [`bytes=2990-${huge}`, 2990],
    [`bytes=-${huge}`, 0],
  ])('clamps %s to the end of the file (206)', async (range, start) => {
    for (const base of [origin, remoteOrigin]) {
      const { res, body } = await get(`${base}/${fileId}`, { Range: range });
      expect(res.status, base).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${data.length - 1}/${data.length}`);
      expect(body.equals(data.subarray(start))).toBe(true);
    }
  });

  it('still answers 416 for a start past the end, however long', async () => {
    for (const range of [`bytes=${huge}-`, `bytes=${data.length}-${huge}`]) {
      const { res } = await get(`${origin}/${fileId}`, { Range: range });
      expect(res.status, range).toBe(416);
      expect(res.headers.get('content-range')).toBe(`bytes */${data.length}`);
    }
  });
});

describe('signed links are held to http.jwt.max_ttl when opened', () => {
  async function link(claims: { exp: number; iat?: number }): Promise<string> {
    let jwt = new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(fileId)
      .setAudience('fdfs-link')
      .setExpirationTime(claims.exp);
    if (claims.iat !== undefined) jwt = jwt.setIssuedAt(claims.iat);
    return `${origin}/${fileId}?sig=${await jwt.sign(new TextEncoder().encode(SECRET))}`;
  }

  async function refusal(url: string): Promise<string> {
    const res = await fetch(url);
    expect(res.status).toBe(403);
    return ((await res.json()) as { error: { message: string } }).error.message;
  }

  it('opens a link within max_ttl, issued now or a moment ahead (clock skew)', async () => {
    for (const claims of [
      { exp: sec() + MAX_TTL_SEC, iat: sec() },
      { exp: sec() + 60, iat: sec() + 3 },
      { exp: sec() + 60 },
    ]) {
      const { res, body } = await get(await link(claims));
      expect(res.status, JSON.stringify(claims)).toBe(200);
      expect(body.equals(data)).toBe(true);
    }
  });

  it('refuses a link that lives longer than max_ttl (a 30-year exp)', async () => {
    const thirtyYears = 30 * 365 * 86_400;
    expect(await refusal(await link({ exp: sec() + thirtyYears, iat: sec() }))).toContain('max_ttl');
    expect(await refusal(await link({ exp: sec() + MAX_TTL_SEC + 60 }))).toContain('max_ttl');
  });

  it('refuses a link issued in the future', async () => {
    expect(await refusal(await link({ exp: sec() + 600, iat: sec() + 300 }))).toContain('future');
  });

  it('takes max_ttl from the time of opening: a link signed now opens later only until exp', async () => {
    const url = await link({ exp: sec() + MAX_TTL_SEC, iat: sec() });
    clock.ms += (MAX_TTL_SEC - 10) * 1000;
    try {
      expect((await fetch(url)).status).toBe(200);
    } finally {
      clock.ms -= (MAX_TTL_SEC - 10) * 1000;
    }
  });
});

describe('error bodies', () => {
  it('name the file and the reason, never the storage; the log keeps the address', async () => {
    // A well-formed id the storage does not hold: the download fails on the storage itself.
    const missing = fileId.replace(/\.bin$/, '.txt');
    const res = await fetch(`${remoteOrigin}/${missing}`);
    expect(res.status).toBe(404);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({
      error: { code: 'FDFS_ERR_ENOENT', message: `${missing}: file not found` },
    });
    expect(text).not.toContain(String(cl.storage.address.port));
    expect(logs.join('\n')).toContain(`${cl.storage.address.host}:${cl.storage.address.port}`);
  });
});
