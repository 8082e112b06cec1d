/**
 * Two of our storages in a group with trunk files (in process, 127.0.0.2 and 127.0.0.3): one is
 * the trunk server, the other asks it for space; trunk-packed files replicate into the peer's
 * copy of the same trunk file at the same slot, deletes zero the slot on both, the trunk server's
 * binlog reaches the peer, and when the trunk server goes the peer takes the role from its copy
 * and hands out only free space.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FdfsClient } from '../src/client/index.js';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import type { StorageNode } from '../src/storage/index.js';
import { locate, TRUNK_HEADER_SIZE, type TrunkSlot } from '../src/storage/trunk/index.js';
import { uploadDirect } from './helpers/direct.js';
import { eventually } from './helpers/node-process.js';
import { startTrunkGroup, type TrunkGroup } from './helpers/trunk-group.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const remoteOf = (fileId: string) => fileId.slice(fileId.indexOf('/') + 1);

let group: TrunkGroup;
let client: FdfsClient;
const server = () => group.server();
const other = () => group.peer();

/** Straight to one storage, as a client the tracker sent there. */
function uploadTo(n: StorageNode, content: Buffer, via: FdfsClient = client): Promise<string> {
  return uploadDirect(via, n.address, content);
}

/** The slot's bytes in one storage's trunk file: header + content. */
async function slotBytes(base: string, slot: TrunkSlot): Promise<Buffer> {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');
  const file = join(
    base,
    'data',
    hex(slot.subdirHigh),
    hex(slot.subdirLow),
    String(slot.id).padStart(6, '0'),
  );
  const all = await readFile(file);
  return all.subarray(slot.offset, slot.offset + slot.size);
}

beforeAll(async () => {
  group = await startTrunkGroup(['127.0.0.2', '127.0.0.3']);
  client = group.client;
}, 60_000);

afterAll(async () => {
  await group?.close();
});

describe('trunk files in a group of two', () => {
  const files: { id: string; data: Buffer }[] = [];

  it('packs uploads on both storages into one shared layout and replicates them slot for slot', async () => {
    for (let i = 0; i < 6; i++) {
      const data = randomBytes(500 + i * 1500);
      const to = i % 2 ? other().node : server().node;
      files.push({ id: await uploadTo(to, data), data });
    }
    const slots = files.map((f) => locate(remoteOf(f.id))?.slot as TrunkSlot);
    for (const s of slots) expect(s).toBeDefined();
    // Slots never overlap: the peer's came from the trunk server too.
    const sorted = [...slots].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      const p = sorted[i - 1] as TrunkSlot;
      expect((sorted[i] as TrunkSlot).offset).toBeGreaterThanOrEqual(p.offset + p.size);
    }
    for (const { base } of group.nodes.values()) {
      await eventually(async () => {
        for (const [i, f] of files.entries()) {
          const bytes = await slotBytes(base, slots[i] as TrunkSlot);
          expect(sha(bytes.subarray(TRUNK_HEADER_SIZE, TRUNK_HEADER_SIZE + f.data.length))).toBe(sha(f.data));
        }
      }, 20_000);
    }
    for (const f of files) expect(sha(await client.downloadBuffer(f.id))).toBe(sha(f.data));
  });

  it("zeroes a deleted file's slot on both storages", async () => {
    const gone = files.splice(1, 1)[0] as { id: string };
    const slot = locate(remoteOf(gone.id))?.slot as TrunkSlot;
    await client.delete(gone.id);
    for (const { base } of group.nodes.values()) {
      await eventually(async () => {
        expect((await slotBytes(base, slot)).every((b) => b === 0)).toBe(true);
      }, 20_000);
    }
    await expect(client.downloadBuffer(gone.id)).rejects.toMatchObject({ status: 2 });
  });

  it("answers a packed upload only once the slot it took is in the peer's copy of the trunk binlog", async () => {
    const s = server();
    const peer = other();
    const copy = () => readFile(join(peer.base, 'data', 'trunk', 'binlog'), 'latin1');
    // On the trunk server itself (its own list) and on the peer (slot asked for over the wire).
    for (const at of [s, peer]) {
      for (let i = 0; i < 20; i++) {
        const id = await uploadTo(at.node, randomBytes(300 + i * 150));
        const loc = locate(remoteOf(id));
        if (!loc) throw new Error(`${id} is not trunk-packed`);
        const { storePathIndex: p, subdirHigh: h, subdirLow: l, id: t, offset, size } = loc.slot;
        // The D record that takes the slot for good: read at the answer, not eventually.
        expect(await copy(), `${id} answered by ${at.host}`).toMatch(
          new RegExp(`^\\d+ D ${p} ${h} ${l} ${t} ${offset} ${size}$`, 'm'),
        );
      }
    }
  });

  it("keeps the peer's copy of the trunk binlog, and the peer takes over from it", async () => {
    const s = server();
    const peer = other();
    await s.node.trunks.binlog.settled();
    const theirs = () => readFile(join(peer.base, 'data', 'trunk', 'binlog'), 'latin1').catch(() => '');
    const mine = await readFile(join(s.base, 'data', 'trunk', 'binlog'), 'latin1');
    await eventually(async () => expect(await theirs()).toBe(mine), 20_000);

    // The trunk server goes; the tracker names the peer, which loads the list from its copy.
    await s.node.close();
    group.nodes.delete(s.host);
    await eventually(async () => {
      if (!peer.node.trunks.isServer) throw new Error('peer not the trunk server yet');
    }, 30_000);
    const more: { id: string; data: Buffer }[] = [];
    for (let i = 0; i < 5; i++) {
      const data = randomBytes(700 + i * 900);
      more.push({ id: await uploadTo(peer.node, data), data });
    }
    for (const m of more) expect(decodeRemoteFilename(remoteOf(m.id)).type).toBe('trunk');
    // Nothing written before the takeover was overwritten.
    for (const f of [...files, ...more])
      expect(sha(await client.downloadBuffer(f.id)), f.id).toBe(sha(f.data));
  }, 90_000);
});

describe('the trunk server role moving back and forth', () => {
  it('a storage taking the role again sends each peer its whole binlog, not from an old mark', async () => {
    const g = await startTrunkGroup(['127.0.0.35', '127.0.0.36']);
    try {
      const copyOf = (base: string) => readFile(join(base, 'data', 'trunk', 'binlog'), 'latin1');
      const upload = async () => {
        const n = g.server().node;
        for (let i = 0; i < 5; i++) await uploadTo(n, randomBytes(500 + i * 300), g.client);
      };
      /** The peer's copy is the trunk server's binlog byte for byte. */
      const settled = async () => {
        const s = g.server();
        await s.node.trunks.binlog.settled();
        const want = await copyOf(s.base);
        await eventually(async () => expect(await copyOf(g.peer().base)).toBe(want), 20_000);
      };
      const first = g.server().host;
      await upload();
      await settled();
      // The role goes to the other storage and back: the first one's mark for its peer, from its
      // first time, counts bytes of a binlog it has since replaced with the other's.
      for (let round = 0; round < 2; round++) {
        const s = g.server();
        const port = s.node.address.port;
        await s.node.close();
        g.nodes.delete(s.host);
        await eventually(async () => {
          if (![...g.nodes.values()].some((n) => n.node.trunks.isServer))
            throw new Error('no trunk server yet');
        }, 30_000);
        await upload();
        await g.start(s.host, s.base, port); // the same port: its peer's mark names it
        await eventually(async () => {
          if (!g.peer().node.trunks.canPack(10)) throw new Error('the restarted one has no trunk server yet');
        }, 30_000);
        await upload();
        await settled();
      }
      expect(g.server().host).toBe(first);
    } finally {
      await g.close();
    }
  }, 120_000);
});
