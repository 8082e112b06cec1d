/**
 * A client that sends download requests without reading the answers: the storage answers only
 * as many as the connection can hold, then waits, as it did when every reply awaited its write.
 * (Without that, every answer's bytes pile up in the server's memory.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FdfsClient } from '../src/client/index.js';
import { Cmd, encodeDownload } from '../src/protocol/index.js';
import { eventually, type RunningNode, readyClient, startNode } from './helpers/node-process.js';
import { header, openRaw } from './helpers/raw-peer.js';

let node: RunningNode;
let client: FdfsClient;

beforeAll(async () => {
  node = await startNode({
    args: [
      '--set',
      'stat_report_interval=1',
      '--set',
      'heart_beat_interval=1',
      '--set',
      'cache_max_file_size=0',
    ],
  });
  client = await readyClient(node);
}, 60_000);

afterAll(async () => {
  await client?.close();
  expect(await node?.stop()).toBe(0);
});

const downloads = async () => (await client.listStorages('group1'))[0]?.counters.successDownloadCount ?? 0;

it('stops answering a client that does not read, and answers the rest once it does', async () => {
  const size = 200 * 1024;
  const id = await client.upload(Buffer.alloc(size, 7), { ext: 'bin' });
  const before = await downloads();
  const requests = 100;
  const body = encodeDownload({ offset: 0, length: 0, group: 'group1', remote: id.slice('group1/'.length) });
  const one = Buffer.concat([header(body.length, Cmd.DOWNLOAD_FILE), body]);
  const sock = await openRaw(node.storage.host, node.storage.port);
  sock.pause(); // read nothing for now
  sock.write(Buffer.concat(Array.from({ length: requests }, () => one)));
  await new Promise((r) => setTimeout(r, 3000)); // beats every second
  const answeredUnread = (await downloads()) - before;
  expect(answeredUnread).toBeLessThan(requests / 2);
  let got = 0;
  sock.on('data', (c: Buffer) => {
    got += c.length;
  });
  sock.resume();
  await eventually(async () => expect(got).toBe(requests * (10 + size)), 30_000);
  sock.destroy();
  await eventually(async () => expect((await downloads()) - before).toBe(requests), 10_000);
});
