/**
 * The S3 section of `npm run bench`: PutObject of 100 KB next to the gateway's multipart
 * `POST /upload` of the same bytes, GetObject of 4 KB next to the direct-URL GET of the same file
 * (the S3 requests presigned by the AWS SDK's own signer, so one keep-alive node:http loop drives
 * both sides alike), then ListObjectsV2 pages of 1,000 keys from a bucket filled straight through
 * openLmdbNamespace (S3_BENCH_KEYS, default 1,000,000), as p50/p99 of one page at a time.
 *
 * bench.ts calls `s3Section(node, seconds)`; `node dist/test/bench/s3-bench.js` runs it alone.
 */
import { readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ObjectRecord } from '../../src/namespace/index.js';
import { openLmdbNamespace } from '../../src/namespace/index.js';
import { type RunningNode, startNode, tempDir } from '../helpers/node-process.js';
import { smithySigner, wireQuery } from '../helpers/s3-smithy-signer.js';
import { type Row, table, timed } from './native-bench.js';

const CONCURRENCY = [16, 64];
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

async function ok(agent: Agent, r: Req): Promise<Buffer> {
  const res = await send(agent, r);
  if (res.status >= 300) throw new Error(`${r.method} ${r.url}: ${res.status} ${res.body.toString()}`);
  return res.body;
}

/** `c` keep-alive loops for `seconds`, each request made fresh by `make(i)` (e.g. presigned). */
async function load(c: number, seconds: number, make: (i: number) => Promise<Req>) {
  const agent = new Agent({ keepAlive: true, maxSockets: c });
  try {
    return await timed(c, seconds, Number.MAX_SAFE_INTEGER, async (i) => {
      await ok(agent, await make(i));
    });
  } finally {
    agent.destroy();
  }
}

class S3Urls {
  private readonly signer;
  constructor(
    private readonly node: RunningNode,
    accessKey: string,
    secretKey: string,
  ) {
    this.signer = smithySigner(accessKey, secretKey);
  }
  /** A presigned URL for `method` on `path` (UNSIGNED-PAYLOAD, as presigned requests are). */
  async url(method: string, path: string, query: Record<string, string> = {}): Promise<string> {
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
      { expiresIn: 3600 },
    );
    const q = wireQuery(signed.query as Record<string, string>);
    return `http://${host}:${port}${path}?${q}`;
  }
}

async function credentialOf(node: RunningNode): Promise<[string, string]> {
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

/** PutObject vs POST /upload, GetObject vs direct-URL GET; returns the table rows and ratio lines. */
export async function s3Rates(
  node: RunningNode,
  seconds: number,
): Promise<{ rows: Row[]; ratios: string[] }> {
  const [ak, sk] = await credentialOf(node);
  const s3 = new S3Urls(node, ak, sk);
  const agent = new Agent({ keepAlive: true });
  const origin = `http://${node.http.host}:${node.http.port}`;
  await ok(agent, { method: 'PUT', url: await s3.url('PUT', `/${BUCKET}`) });
  const rows: Row[] = [];
  const ratios: string[] = [];
  const put = Buffer.alloc(100 * 1024, 0x61);
  const form = multipart(put.length);
  for (const c of CONCURRENCY) {
    const p = await load(c, seconds, async (i) => ({
      method: 'PUT',
      url: await s3.url('PUT', `/${BUCKET}/put-${c}-${i}.bin`),
      body: put,
    }));
    const m = await load(c, seconds, async () => ({
      method: 'POST',
      url: `${origin}/upload`,
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      body: form,
    }));
    rows.push({ op: 's3 PutObject', size: put.length, concurrency: c, ...p });
    rows.push({ op: 'http POST multipart', size: put.length, concurrency: c, ...m });
    ratios.push(
      `PutObject/POST /upload, 100 KB, ${c} conn: ${(p.ops / p.seconds / (m.ops / m.seconds)).toFixed(2)} (aim ≥ 0.8)`,
    );
  }
  const small = Buffer.alloc(4 * 1024, 0x62);
  const putUrl = await s3.url('PUT', `/${BUCKET}/small.bin`);
  await ok(agent, { method: 'PUT', url: putUrl, body: small });
  const getUrl = await s3.url('GET', `/${BUCKET}/small.bin`);
  const head = await new Promise<string>((resolve, reject) => {
    request(getUrl, { agent }, (res) => {
      res.resume();
      resolve(String(res.headers['x-fdfs-file-id']));
    })
      .on('error', reject)
      .end();
  });
  const direct = `${origin}/${head}`;
  await ok(agent, { method: 'GET', url: direct }); // into the small-file cache, as a hot file is
  agent.destroy();
  for (const c of CONCURRENCY) {
    const g = await load(c, seconds, async () => ({ method: 'GET', url: getUrl }));
    const d = await load(c, seconds, async () => ({ method: 'GET', url: direct }));
    rows.push({ op: 's3 GetObject', size: small.length, concurrency: c, ...g });
    rows.push({ op: 'http GET direct URL', size: small.length, concurrency: c, ...d });
    ratios.push(
      `GetObject/direct-URL GET, 4 KB, ${c} conn: ${(g.ops / g.seconds / (d.ops / d.seconds)).toFixed(2)} (aim ≥ 0.8)`,
    );
  }
  return { rows, ratios };
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
    await rm(base, { recursive: true, force: true });
  }
}

/** The printed S3 section. `node` is a running `fdfs start` with its S3 endpoint. */
export async function s3Section(node: RunningNode, seconds: number): Promise<string> {
  const { rows, ratios } = await s3Rates(node, seconds);
  const total = Number(process.env.S3_BENCH_KEYS ?? 1_000_000);
  const list = await s3ListSection(total);
  return `${table('S3 API (presigned requests and plain HTTP from one keep-alive node:http loop)', rows)}\n${ratios.join('\n')}\n\n${list}`;
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
