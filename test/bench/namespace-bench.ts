/**
 * Namespace store figures: `npm run build && node dist/test/bench/namespace-bench.js [keys]`.
 * Durable puts with 64 in flight, then ListObjects pages of 1,000 from a bucket of `keys` keys
 * (default 1,000,000): plain pages at random start points, and a delimited page of 1,000 common
 * prefixes (each one a seek past 1,000 keys).
 */
import type { Namespace, ObjectRecord } from '../../src/namespace/index.js';
import { openLmdbNamespace } from '../../src/namespace/index.js';
import { tempDir } from '../helpers/node-process.js';
import { removeFolder } from '../helpers/removal.js';

function rec(bucket: string, key: string, i: number): ObjectRecord {
  return {
    bucket,
    key,
    parts: [
      {
        fileId: `group1/M00/${(i & 0xff).toString(16).padStart(2, '0')}/00/wKgAAmZ${i}AAAAAAAAAAA.bin`,
        size: 102_400,
      },
    ],
    size: 102_400,
    etag: '0123456789abcdef0123456789abcdef',
    lastModified: 1_700_000_000_000 + i,
    contentType: 'application/octet-stream',
    headers: {},
    meta: {},
  };
}

async function puts(ns: Namespace, n: number, inFlight: number, key: (i: number) => string): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) {
        const i = next++;
        const r = await ns.putObject(rec('b', key(i), i));
        if (r !== 'ok') throw new Error(`put ${i}: ${r}`);
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

function pct(xs: number[], p: number): string {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0).toFixed(2);
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 1_000_000);
  for (const durable of [true, false]) {
    const dir = await tempDir('fdfs-ns-bench-');
    const ns = await openLmdbNamespace(dir, { durable });
    await ns.createBucket({ name: 'b', owner: 'o', createdAt: 0, public: false });
    const s = await puts(ns, 20_000, 64, (i) => `photos/${i % 97}/${i}.jpg`);
    process.stdout.write(
      `20,000 puts, 64 in flight, durable=${durable}: ${s.toFixed(2)} s (${Math.round(20_000 / s)}/s)\n`,
    );
    await ns.close();
    await removeFolder(dir);
  }

  const dir = await tempDir('fdfs-ns-bench-');
  const ns = await openLmdbNamespace(dir, { durable: false });
  await ns.createBucket({ name: 'b', owner: 'o', createdAt: 0, public: false });
  // 1,000 folders of 1,000 keys each when total is 1,000,000.
  const per = Math.max(1, Math.round(total / 1000));
  const keyOf = (i: number) =>
    `dir${String(i % 1000).padStart(4, '0')}/file-${String(i).padStart(8, '0')}.dat`;
  const fill = await puts(ns, total, 256, keyOf);
  process.stdout.write(`filled ${total} keys (durable=false, 256 in flight) in ${fill.toFixed(1)} s\n`);

  const plain: number[] = [];
  for (let r = 0; r < 200; r++) {
    const i = Math.floor(Math.random() * total);
    const t0 = performance.now();
    const page = await ns.listObjects('b', { after: keyOf(i), maxKeys: 1000 });
    plain.push(performance.now() - t0);
    if (page.objects.length === 0) throw new Error('empty page');
  }
  process.stdout.write(`ListObjects 1,000 of ${total}: p50 ${pct(plain, 50)} ms, p99 ${pct(plain, 99)} ms\n`);

  const delimited: number[] = [];
  for (let r = 0; r < 50; r++) {
    const t0 = performance.now();
    const page = await ns.listObjects('b', { delimiter: '/', maxKeys: 1000 });
    delimited.push(performance.now() - t0);
    if (page.prefixes.length !== Math.min(1000, total))
      throw new Error(`got ${page.prefixes.length} prefixes`);
  }
  process.stdout.write(
    `ListObjects delimiter '/', 1,000 prefixes over ${per} keys each: p50 ${pct(delimited, 50)} ms, p99 ${pct(delimited, 99)} ms\n`,
  );
  await ns.close();
  await removeFolder(dir);
}

main().catch((err: unknown) => {
  process.stderr.write(`namespace bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
