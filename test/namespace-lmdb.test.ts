/**
 * The lmdb namespace store: the shared conformance suite, then what only an embedded store must
 * show: a writer killed with SIGKILL loses no resolved write and leaves references consistent.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { openLmdbNamespace } from '../src/namespace/index.js';
import { tempDir } from './helpers/node-process.js';
import { namespaceConformance } from './namespace/conformance.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function newDir(): Promise<string> {
  const d = await tempDir('fdfs-ns-');
  dirs.push(d);
  return d;
}

namespaceConformance('lmdb', {
  async fresh(opts = {}) {
    const dir = await newDir();
    let ns = await openLmdbNamespace(dir, opts);
    return {
      ns,
      async reopen() {
        await ns.close();
        ns = await openLmdbNamespace(dir, opts);
        return ns;
      },
    };
  },
});

const WRITER = resolve(import.meta.dirname, '../dist/test/namespace/crash-writer.js');

describe('lmdb namespace under kill -9', () => {
  it('keeps every resolved put and consistent references', async () => {
    const dir = await newDir();
    const child = spawn(process.execPath, [WRITER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked = new Map<string, number>();
    let lines = 0;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    for await (const line of createInterface({ input: child.stdout })) {
      const [key, i] = line.split(' ');
      if (key && i) acked.set(key, Number(i));
      if (++lines === 2000) child.kill('SIGKILL');
    }
    await exited;
    expect(lines).toBeGreaterThanOrEqual(2000);

    const ns = await openLmdbNamespace(dir);
    try {
      const garbage = new Set((await ns.takeGarbage(1_000_000)).map((g) => g.fileId));
      let checked = 0;
      for (let w = 0; w < 64; w++) {
        for (let k = 0; k < 4; k++) {
          const key = `w${w}/k${k}`;
          const last = acked.get(key);
          const rec = await ns.getObject('b', key);
          if (last === undefined) continue;
          // The last answered write, or the one after it that was in flight at the kill.
          const stored = Number(rec?.etag);
          expect([last, last + 4], key).toContain(stored);
          expect(await ns.isReferenced(`f-${w}-${stored}`)).toBe(true);
          // Every earlier version's file is queued, none of the live one.
          for (let i = k; i < stored; i += 4) expect(garbage.has(`f-${w}-${i}`), `f-${w}-${i}`).toBe(true);
          expect(garbage.has(`f-${w}-${stored}`)).toBe(false);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(200);
      // Still writable after the crash.
      expect(await ns.deleteObject('b', 'w0/k0')).toBe(true);
    } finally {
      await ns.close();
    }
  });
});

describe('lmdb namespace read memo', () => {
  it('answers the same record while the bytes stay, and the new one after a same-size write elsewhere', async () => {
    const dir = await newDir();
    const reader = await openLmdbNamespace(dir);
    // A second handle on the same files: its writes never pass through the reader's memo.
    const writer = await openLmdbNamespace(dir);
    try {
      await writer.createBucket({ name: 'memo', owner: 'o', createdAt: 1, public: false });
      const put = (etag: string, big = false) =>
        writer.putObject({
          bucket: 'memo',
          key: 'k',
          parts: [{ fileId: 'group1/M00/00/00/f', size: 1 }],
          size: 1,
          etag,
          lastModified: 1,
          contentType: 'x/y',
          headers: {},
          // Past lmdb-js's shared read buffer (64 KiB): such values come back another way.
          meta: big ? { pad: 'p'.repeat(80_000) } : {},
        });
      // lmdb-js renews the reader's snapshot between turns, not at a set one: wait a few turns for
      // the other handle's commit to show (a memo that keeps the old record never gets there).
      const seen = async (etag: string | undefined) => {
        for (let turn = 0; turn < 2000; turn++) {
          if (reader.getObjectSync?.('memo', 'k')?.etag === etag) return;
          await new Promise((r) => setImmediate(r));
        }
      };
      expect(await put('aaaa')).toBe('ok');
      const first = reader.getObjectSync?.('memo', 'k');
      expect(first?.etag).toBe('aaaa');
      expect(reader.getObjectSync?.('memo', 'k')).toBe(first);
      expect(reader.getBucketSync?.('memo')).toBe(reader.getBucketSync?.('memo'));
      // Same length, one byte different: only a byte comparison tells them apart.
      expect(await put('aaab')).toBe('ok');
      await seen('aaab');
      const second = reader.getObjectSync?.('memo', 'k');
      expect(second?.etag).toBe('aaab');
      expect(reader.getObjectSync?.('memo', 'k')).toBe(second);
      expect(await put('aaac', true)).toBe('ok');
      await seen('aaac');
      const third = reader.getObjectSync?.('memo', 'k');
      expect(third?.etag).toBe('aaac');
      expect(third?.meta.pad?.length).toBe(80_000);
      expect(reader.getObjectSync?.('memo', 'k')).toBe(third);
      expect(await writer.deleteObject('memo', 'k')).toBe(true);
      await seen(undefined);
      expect(reader.getObjectSync?.('memo', 'k')).toBeUndefined();
    } finally {
      await writer.close();
      await reader.close();
    }
  });
});
