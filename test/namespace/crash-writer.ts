/**
 * Child process for the kill -9 test: 64 writers each rewrite their own few keys, durably, and
 * print `<key> <i>` once a put has resolved. Run from dist/: `node crash-writer.js <dir>`.
 */
import { openLmdbNamespace } from '../../src/namespace/index.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: crash-writer <dir>');
const ns = await openLmdbNamespace(dir);
await ns.createBucket({ name: 'b', owner: 'o', createdAt: 1, public: false });
process.stdout.write('ready\n');

async function writer(w: number): Promise<void> {
  for (let i = 0; ; i++) {
    const key = `w${w}/k${i % 4}`;
    await ns.putObject({
      bucket: 'b',
      key,
      parts: [{ fileId: `f-${w}-${i}`, size: i }],
      size: i,
      etag: String(i),
      lastModified: i,
      contentType: 'x/y',
      headers: {},
      meta: {},
    });
    process.stdout.write(`${key} ${i}\n`);
  }
}

await Promise.all(Array.from({ length: 64 }, (_, w) => writer(w)));
