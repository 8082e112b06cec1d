/**
 * The S3 section of `npm run bench`: PutObject of 100 KB next to the gateway's multipart
 * `POST /upload` of the same bytes, GetObject of 4 KB next to the direct-URL GET of the same file
 * (one presigned URL fetched over and over, then a new presigned URL for every request),
 * each pair in turns (3 rounds, the order alternating) from the same load generator (s3-load.ts:
 * wrk when installed), S3 requests presigned by the AWS SDK's own signer before each run; then
 * ListObjectsV2 pages of 1,000 keys from a bucket filled straight through openLmdbNamespace
 * (S3_BENCH_KEYS, default 1,000,000), as p50/p99 of one page at a time.
 *
 * bench.ts calls `s3Section(node, seconds)`; `node dist/test/bench/s3-bench.js` runs it alone.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ObjectRecord } from '../../src/namespace/index.js';
import { openLmdbNamespace } from '../../src/namespace/index.js';
import { type RunningNode, startNode, tempDir } from '../helpers/node-process.js';
import { removeFolder } from '../helpers/removal.js';
import { smithySigner, wireQuery } from '../helpers/s3-smithy-signer.js';
import { type Row, table } from './native-bench.js';
import { drive, hasWrk, type Load, type Measured } from './s3-load.js';

const CONCURRENCY = [16, 64];
const ROUNDS = 3;
const BOUNDARY = 'fdfsS3BenchBoundary';
const BUCKET = 'bench';

interface Req {
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
}

function send(agent: Agent, r: Req): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { ...(r.headers ?? {}), ...(r.body ? { 'content-length': String(r.body.length) } : {}) };
    const req = request(r.url, { method: r.method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

export async function ok(agent: Agent, r: Req): Promise<Buffer> {
  const res = await send(agent, r);
  if (res.status >= 300) throw new Error(`${r.method} ${r.url}: ${res.status} ${res.body.toString()}`);
  return res.body;
}

export class S3Urls {
  private readonly signer;
  constructor(
    private readonly node: RunningNode,
    accessKey: string,
    secretKey: string,
  ) {
    this.signer = smithySigner(accessKey, secretKey);
  }
  /**
   * A presigned path and query for `method` on `path` (UNSIGNED-PAYLOAD, as presigned requests are).
   * URLs signed within the same second are identical unless `expiresIn` differs.
   */
  async target(
    method: string,
    path: string,
    query: Record<string, string> = {},
    expiresIn = 3600,
  ): Promise<string> {
    const { host, port } = this.node.s3;
    const signed = await this.signer.presign(
      {
        method,
        protocol: 'http:',
        hostname: host,
        port,
        path,
        query,
        headers: { host: `${host}:${port}`, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
      },
      { expiresIn },
    );
    return `${path}?${wireQuery(signed.query as Record<string, string>)}`;
  }
  async url(method: string, path: string, query: Record<string, string> = {}): Promise<string> {
    const { host, port } = this.node.s3;
    return `http://${host}:${port}${await this.target(method, path, query)}`;
  }
}

export async function credentialOf(node: RunningNode): Promise<[string, string]> {
  const line = (await readFile(join(node.base, 's3-credentials'), 'utf8')).trim();
  const i = line.indexOf(':');
  return [line.slice(0, i), line.slice(i + 1)];
}

function multipart(size: number): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="b.bin"\r\n\r\n`),
    Buffer.alloc(size, 0x61),
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

/** One side of a comparison: its row label and the load of its next run (made before the run). */
interface Side {
  readonly op: string;
  readonly load: (expectedOps: number) => Promise<Load>;
}

interface Pair {
  readonly rows: Row[];
  readonly line: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const rate = (m: Measured) => m.ops / m.seconds;

/**
 * `a` against `b` at `c` connections: ROUNDS rounds in turns, the order alternating, so both sides
 * see the same machine (others' load comes and goes); a short warm-up of each first.
 */
async function inTurns(
  what: string,
  a: Side,
  b: Side,
  size: number,
  c: number,
  seconds: number,
  o: { readonly wrk: boolean; readonly dir: string; readonly pid: number | undefined },
): Promise<Pair> {
  let best = 0;
  const once = async (side: Side, secs: number, name: string) => {
    // Enough presigned targets for three times the best rate seen so far, and at least 2,000.
    const load = await side.load(Math.max(2000, Math.ceil(best * secs * 3)));
    const m = await drive(load, c, secs, { ...o, name });
    best = Math.max(best, rate(m));
    return m;
  };
  await once(a, 1, `warm-a-${c}`);
  await once(b, 1, `warm-b-${c}`);
  const ra: Measured[] = [];
  const rb: Measured[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      ra.push(await once(a, seconds, `a-${c}-${r}`));
      rb.push(await once(b, seconds, `b-${c}-${r}`));
    } else {
      rb.push(await once(b, seconds, `b-${c}-${r}`));
      ra.push(await once(a, seconds, `a-${c}-${r}`));
    }
  }
  const sum = (ms: Measured[]) => ({
    ops: ms.reduce((t, m) => t + m.ops, 0),
    seconds: ms.reduce((t, m) => t + m.seconds, 0),
  });
  const ratios = ra.map((m, i) => rate(m) / rate(rb[i] as Measured));
  const cpu = (ms: Measured[]) => {
    const xs = ms.map((m) => m.cpuUs).filter((x): x is number => x !== undefined);
    return xs.length === ms.length ? `${median(xs).toFixed(0)} µs` : 'n/a';
  };
  return {
    rows: [
      { op: a.op, size, concurrency: c, ...sum(ra) },
      { op: b.op, size, concurrency: c, ...sum(rb) },
    ],
    line:
      `${what}, ${c} conn: ${(median(ra.map(rate)) / median(rb.map(rate))).toFixed(2)} (aim ≥ 0.8; ` +
      `rounds ${ratios.map((x) => x.toFixed(2)).join(' / ')}); server CPU per request ${cpu(ra)} vs ${cpu(rb)}`,
  };
}

/** A part of the section, for a short run while working on one path (s3-quick.ts). */
export interface S3Only {
  readonly pairs?: readonly ('put' | 'get' | 'fresh')[];
  readonly conns?: readonly number[];
}

/** PutObject vs POST /upload, GetObject vs direct-URL GET; returns the table rows and ratio lines. */
export async function s3Rates(
  node: RunningNode,
  seconds: number,
  only: S3Only = {},
): Promise<{ rows: Row[]; ratios: string[]; wrk: boolean }> {
  const pairs = only.pairs ?? ['put', 'get', 'fresh'];
  const conns = only.conns ?? CONCURRENCY;
  const [ak, sk] = await credentialOf(node);
  const s3 = new S3Urls(node, ak, sk);
  const agent = new Agent({ keepAlive: true });
  const origin = `http://${node.http.host}:${node.http.port}`;
  const s3Origin = `http://${node.s3.host}:${node.s3.port}`;
  const wrk = await hasWrk();
  const dir = await mkdtemp(join(tmpdir(), 'fdfs-s3-bench-'));
  const o = { wrk, dir, pid: node.child.pid };
  try {
    await ok(agent, { method: 'PUT', url: await s3.url('PUT', `/${BUCKET}`) });
    const rows: Row[] = [];
    const ratios: string[] = [];
    const put = Buffer.alloc(100 * 1024, 0x61);
    let batch = 0;
    const putSide: Side = {
      op: 's3 PutObject',
      async load(n) {
        const b = batch++;
        const targets: string[] = [];
        for (let i = 0; i < n; i++) targets.push(await s3.target('PUT', `/${BUCKET}/put-${b}-${i}.bin`));
        return { method: 'PUT', origin: s3Origin, targets, body: put };
      },
    };
    const form = multipart(put.length);
    const postSide: Side = {
      op: 'http POST multipart',
      load: async () => ({
        method: 'POST',
        origin,
        targets: ['/upload'],
        headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
        body: form,
      }),
    };
    for (const c of pairs.includes('put') ? conns : []) {
      const p = await inTurns('PutObject/POST /upload, 100 KB', putSide, postSide, put.length, c, seconds, o);
      rows.push(...p.rows);
      ratios.push(p.line);
    }
    const small = Buffer.alloc(4 * 1024, 0x62);
    await ok(agent, { method: 'PUT', url: await s3.url('PUT', `/${BUCKET}/small.bin`), body: small });
    const getTarget = await s3.target('GET', `/${BUCKET}/small.bin`);
    const head = await new Promise<string>((resolve, reject) => {
      request(`${s3Origin}${getTarget}`, { agent }, (res) => {
        res.resume();
        resolve(String(res.headers['x-fdfs-file-id']));
      })
        .on('error', reject)
        .end();
    });
    await ok(agent, { method: 'GET', url: `${origin}/${head}` }); // into the small-file cache, as a hot file is
    const getSide: Side = {
      op: 's3 GetObject',
      load: async () => ({ method: 'GET', origin: s3Origin, targets: [getTarget] }),
    };
    // A link fetched once each: every request verifies a signature the endpoint has not seen.
    let signed = 0;
    const freshSide: Side = {
      op: 's3 GetObject, new URL each',
      async load(expected) {
        // The first (warm-up) run comes before any rate is known: enough for 20,000 a second.
        const n = Math.max(expected, 20_000);
        const targets: string[] = [];
        for (let i = 0; i < n; i++)
          targets.push(await s3.target('GET', `/${BUCKET}/small.bin`, {}, 3600 + (signed++ % 600_000)));
        return { method: 'GET', origin: s3Origin, targets };
      },
    };
    const directSide: Side = {
      op: 'http GET direct URL',
      load: async () => ({ method: 'GET', origin, targets: [`/${head}`] }),
    };
    for (const c of pairs.includes('get') ? conns : []) {
      const p = await inTurns(
        'GetObject/direct-URL GET, 4 KB',
        getSide,
        directSide,
        small.length,
        c,
        seconds,
        o,
      );
      rows.push(...p.rows);
      ratios.push(p.line);
    }
    for (const c of pairs.includes('fresh') ? conns : []) {
      const p = await inTurns(
        'GetObject, a new presigned URL each request/direct-URL GET, 4 KB',
        freshSide,
        directSide,
        small.length,
        c,
        seconds,
        o,
      );
      rows.push(...p.rows);
      ratios.push(p.line);
    }
    return { rows, ratios, wrk };
  } finally {
    agent.destroy();
    await removeFolder(dir);
  }
}

function rec(key: string, i: number): ObjectRecord {
  return {
    bucket: 'big',
    key,
    parts: [{ fileId: `group1/M00/00/00/wKgAAmZ${i}AAAAAAAAAAA.bin`, size: 1024 }],
    size: 1024,
    etag: '0123456789abcdef0123456789abcdef',
    lastModified: 1_700_000_000_000 + i,
    contentType: 'application/octet-stream',
    headers: {},
    meta: {},
  };
}

const pct = (xs: number[], p: number) =>
  ([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0).toFixed(1);

/**
 * ListObjectsV2 pages of 1,000 over HTTP from a bucket of `total` keys, on a node of its own: the
 * keys go straight into its namespace (not durable, 256 in flight) while it is stopped.
 */
export async function s3ListSection(total: number): Promise<string> {
  const base = await tempDir('fdfs-s3-bench-');
  try {
    const first = await startNode({ base });
    const [ak, sk] = await credentialOf(first);
    await first.stop();
    const t0 = performance.now();
    const ns = await openLmdbNamespace(join(base, 's3-namespace'), { durable: false });
    await ns.createBucket({ name: 'big', owner: ak, createdAt: Date.now(), public: false });
    const keyOf = (i: number) =>
      `dir${String(i % 1000).padStart(4, '0')}/file-${String(i).padStart(8, '0')}.dat`;
    let next = 0;
    await Promise.all(
      Array.from({ length: 256 }, async () => {
        while (next < total) {
          const i = next++;
          if ((await ns.putObject(rec(keyOf(i), i))) !== 'ok') throw new Error(`fill ${i} failed`);
        }
      }),
    );
    await ns.close();
    const fill = (performance.now() - t0) / 1000;
    const node = await startNode({ base });
    try {
      const s3 = new S3Urls(node, ak, sk);
      const agent = new Agent({ keepAlive: true });
      const times: number[] = [];
      for (let r = 0; r < 200; r++) {
        const after = keyOf(Math.floor(Math.random() * total));
        const url = await s3.url('GET', '/big', {
          'list-type': '2',
          'max-keys': '1000',
          'start-after': after,
        });
        const t = performance.now();
        const body = await ok(agent, { method: 'GET', url });
        times.push(performance.now() - t);
        if (r === 0 && !body.includes('<Contents>')) throw new Error('the listing page has no keys');
      }
      agent.destroy();
      return [
        `ListObjectsV2, max-keys 1000, from a bucket of ${total.toLocaleString('en')} keys (filled through openLmdbNamespace in ${fill.toFixed(1)} s),`,
        `  200 pages at random start-after, one at a time: p50 ${pct(times, 50)} ms, p99 ${pct(times, 99)} ms`,
      ].join('\n');
    } finally {
      await node.stop();
    }
  } finally {
    await removeFolder(base);
  }
}

/** The printed S3 section. `node` is a running `fdfs start` with its S3 endpoint. */
export async function s3Section(node: RunningNode, seconds: number): Promise<string> {
  const { rows, ratios, wrk } = await s3Rates(node, seconds);
  const total = Number(process.env.S3_BENCH_KEYS ?? 1_000_000);
  const list = await s3ListSection(total);
  const from = wrk ? 'wrk' : 'keep-alive node:http loops (install wrk for server-bound figures)';
  const title = `S3 API (load from ${from}; each pair ${ROUNDS} rounds in turns; S3 requests presigned before each run)`;
  return `${table(title, rows)}\n${ratios.join('\n')}\n\n${list}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const seconds = Number(process.env.BENCH_SECONDS ?? 2);
  const node = await startNode({ args: ['--set', 'durable_writes=true'] });
  try {
    process.stdout.write(`${await s3Section(node, seconds)}\n`);
  } finally {
    await node.stop();
  }
}
