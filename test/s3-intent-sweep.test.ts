/**
 * The upload intent sweep (src/s3/intents.ts): intents whose file a key now names are cleared, the
 * others stay for fdfs s3 gc, over more settled uploads than one sweep asks about at once.
 */
import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/common/index.js';
import { openLmdbNamespace } from '../src/namespace/index.js';
import { IntentLog } from '../src/s3/intents.js';
import { tempDir } from './helpers/node-process.js';
import { OWNER, obj } from './namespace/fixtures.js';

describe('upload intent sweep', () => {
  it('clears every intent whose file is named and keeps the rest', async () => {
    const dir = await tempDir('fdfs-sweep-');
    const ns = await openLmdbNamespace(dir, { durable: false });
    const log = new IntentLog(ns, () => 1_000, silentLogger, 3_600_000);
    try {
      await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
      const unnamed: number[] = [];
      for (let i = 0; i < 600; i++) {
        const id = await log.record('group1', i, i);
        const fileId = `group1/M00/00/00/sweep${i}.bin`;
        if (i % 3 === 0) unnamed.push(id);
        else await ns.putObject(obj('b', `k${i}`, { parts: [{ fileId, size: 5 }] }));
        log.settle(id, fileId);
      }
      await log.sweep();
      expect((await ns.listIntents(1000)).map((i) => i.id)).toEqual(unnamed);
    } finally {
      await log.close();
      await ns.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
