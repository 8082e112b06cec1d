/**
 * The garbage drain over a real lmdb namespace: the writes of a burst share one look at the
 * queue (on PostgreSQL each look is a round trip), a released file still goes after a kick with
 * nobody waiting on the drain, and idle() runs a pass a write asked for at once.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { silentLogger } from '../src/common/index.js';
import { type Namespace, type ObjectRecord, openLmdbNamespace } from '../src/namespace/index.js';
import { GarbageDrain } from '../src/s3/garbage.js';
import { eventually, tempDir } from './helpers/node-process.js';

let base = '';
let ns: Namespace;
let looks = 0;
let counted: Namespace;
let drain: GarbageDrain;
const removed: string[] = [];

beforeEach(async () => {
  base = await tempDir('fdfs-drain-');
  ns = await openLmdbNamespace(join(base, 'ns'), { durable: false });
  await ns.createBucket({ name: 'b', owner: 'o', createdAt: 0, public: false });
  looks = 0;
  removed.length = 0;
  // The real namespace, with its queue reads counted.
  counted = new Proxy(ns, {
    get(target, name) {
      if (name === 'takeGarbage')
        return (max: number) => {
          looks++;
          return target.takeGarbage(max);
        };
      const v = Reflect.get(target, name) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  drain = new GarbageDrain(
    counted,
    async (fileId) => {
      removed.push(fileId);
    },
    silentLogger,
    3_600_000,
  );
});

afterEach(async () => {
  await drain.close();
  await ns.close();
  await rm(base, { recursive: true, force: true });
});

const rec = (key: string, fileId: string): ObjectRecord => ({
  bucket: 'b',
  key,
  parts: [{ fileId, size: 1 }],
  size: 1,
  etag: '0123456789abcdef0123456789abcdef',
  lastModified: 0,
  contentType: 'text/plain',
  headers: {},
  meta: {},
});

/** Writes one key twice: the first file is released into the queue. */
async function replaceKey(): Promise<void> {
  expect(await counted.putObject(rec('k', 'group1/M00/00/00/old.txt'))).toBe('ok');
  expect(await counted.putObject(rec('k', 'group1/M00/00/00/new.txt'))).toBe('ok');
}

it('the kicks of a burst of writes that release nothing share one look at the queue', async () => {
  for (let i = 0; i < 200; i++)
    expect(await counted.putObject(rec(`new/${i}`, `group1/M00/00/00/new${i}.txt`))).toBe('ok');
  // As a busy gateway kicks: each write as it commits, well within the delay.
  for (let i = 0; i < 200; i++) drain.kick();
  await drain.idle();
  expect(looks).toBe(1);
  expect(removed).toEqual([]);
});

it('deletes a replaced file after a kick, with nobody waiting on the drain', async () => {
  await replaceKey();
  drain.kick();
  await eventually(async () => expect(removed).toEqual(['group1/M00/00/00/old.txt']), 5_000, 20);
  await drain.idle();
  expect(await ns.takeGarbage(10)).toEqual([]);
});

it('idle() runs the pass a write asked for at once', async () => {
  await replaceKey();
  drain.kick();
  await drain.idle();
  expect(removed).toEqual(['group1/M00/00/00/old.txt']);
  // One look: a batch shorter than a full one is the whole queue.
  expect(looks).toBe(1);
});
