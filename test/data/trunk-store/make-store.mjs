// The uploads of make-store.sh, through this project's client against the stock daemons.
// phase1: varied small sizes (trunk slots), two bigger than slot_max_size (normal files),
// metadata, a slave of a trunk file and one of a normal file, an appender, deletes.
// phase2 (after a storage restart): uploads that can reuse the freed slots, one more delete.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const [phase, tracker, manifestPath, root] = process.argv.slice(2);
const { FdfsClient } = await import(join(root, 'dist/src/client/index.js'));
const client = new FdfsClient({ trackers: [tracker], networkTimeout: 10000 });
const sha = (b) => createHash('sha256').update(b).digest('hex');

const manifest =
  phase === 'phase1'
    ? { made: 'FastDFS 6.16.1, see make-store.sh', group: 'group1', files: [] }
    : JSON.parse(await readFile(manifestPath, 'utf8'));
const byNote = (note) => manifest.files.find((f) => f.note === note);

async function upload(note, size, opts = {}) {
  const body = randomBytes(size);
  for (let attempt = 0; ; attempt++) {
    try {
      const fileId = await client.upload(body, { ext: opts.ext ?? 'bin', ...opts });
      manifest.files.push({
        note,
        fileId,
        size,
        sha256: sha(body),
        deleted: false,
        ...(opts.metadata ? { metadata: opts.metadata } : {}),
      });
      return fileId;
    } catch (err) {
      // The tracker names the trunk server a few seconds after the storage joins.
      if (attempt > 30) throw err;
      await sleep(1000);
    }
  }
}

async function del(note) {
  const f = byNote(note);
  await client.delete(f.fileId);
  f.deleted = true;
}

if (phase === 'phase1') {
  const sizes = [0, 1, 100, 232, 233, 1000, 4096, 5000, 20000, 65000, 65512, 3000, 777, 12345];
  for (const s of sizes) await upload(`small-${s}`, s, { ext: s % 2 ? 'txt' : 'jpg' });
  await upload('no-ext', 2048, { ext: '' });
  await upload('long-ext', 1500, { ext: 'tar.gz' });
  await upload('big-65513', 65513, { ext: 'dat' }); // 65513 + 24 > 64 KB: a normal file
  await upload('big-200000', 200000, { ext: 'dat' });
  await upload('meta-trunk', 3333, {
    ext: 'png',
    metadata: { width: '800', height: '600', title: 'trunk file' },
  });
  await upload('meta-normal', 100000, { ext: 'png', metadata: { width: '1024' } });
  for (const [master, prefix] of [
    ['meta-trunk', '_150x150'],
    ['big-200000', '_thumb'],
  ]) {
    const body = randomBytes(1234);
    const fileId = await client.uploadSlave(byNote(master).fileId, body, { prefix, ext: 'png' });
    manifest.files.push({
      note: `slave-of-${master}`,
      fileId,
      size: body.length,
      sha256: sha(body),
      deleted: false,
    });
  }
  const a1 = randomBytes(3000);
  const a2 = randomBytes(2000);
  const appender = await client.upload(a1, { ext: 'log', appender: true });
  await client.append(appender, a2);
  const all = Buffer.concat([a1, a2]);
  manifest.files.push({
    note: 'appender',
    fileId: appender,
    size: all.length,
    sha256: sha(all),
    deleted: false,
  });
  await del('small-1000');
  await del('small-20000');
  await del('big-65513');
  await upload('meta-deleted', 900, { ext: 'txt', metadata: { gone: 'yes' } });
  await del('meta-deleted');
} else {
  await upload('after-restart-900', 900, { ext: 'txt' }); // fits the slot small-1000 left
  await upload('after-restart-18000', 18000, { ext: 'txt' });
  await upload('after-restart-300', 300, { ext: 'css' });
  await del('small-4096');
  await client.setMetadata(byNote('after-restart-300').fileId, { color: 'blue' });
  byNote('after-restart-300').metadata = { color: 'blue' };
}
await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
await client.close();
