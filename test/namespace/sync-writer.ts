/**
 * Child process for the strace test: three puts one after another, printing `acked <i>` once each
 * has resolved. Run from dist/: `node sync-writer.js <dir> <durable true|false>`.
 */
import { openLmdbNamespace } from '../../src/namespace/index.js';

const [dir, durable] = process.argv.slice(2);
if (!dir) throw new Error('usage: sync-writer <dir> <durable>');
const ns = await openLmdbNamespace(dir, { durable: durable !== 'false' });
await ns.createBucket({ name: 'b', owner: 'o', createdAt: 1, public: false });
for (let i = 0; i < 3; i++) {
  const r = await ns.putObject({
    bucket: 'b',
    key: `k${i}`,
    parts: [{ fileId: `f${i}`, size: 1 }],
    size: 1,
    etag: String(i),
    lastModified: i,
    contentType: 'x/y',
    headers: {},
    meta: {},
  });
  process.stdout.write(`acked ${i} ${r}\n`);
}
await ns.close();
