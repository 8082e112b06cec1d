/**
 * A 1 GB PutObject and GetObject through @aws-sdk/client-s3 (a generated stream, never a 1 GB
 * buffer) grow the node's peak RSS by under 100 MB: bodies stream from socket to disk and back.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { procStatusKb } from './helpers/proc-status.js';
import { type S3Node, startS3Node } from './helpers/s3.js';

const SIZE = 1024 * 1024 * 1024;
const CHUNK = Buffer.alloc(1024 * 1024);
for (let i = 0; i < CHUNK.length; i++) CHUNK[i] = (i * 31 + (i >> 10)) & 0xff;

let s3: S3Node;
beforeAll(async () => {
  // No fsyncs: only memory is measured, and the default 5 GB object limit already allows 1 GB.
  s3 = await startS3Node({ args: ['--set', 'durable_writes=false'] });
});
afterAll(async () => {
  await s3?.stop();
});

async function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  return (await procStatusKb(pid))(field);
}

/** SIZE bytes, 1 MiB at a time, each chunk's first 8 bytes its index so no two are alike. */
function body(md5: ReturnType<typeof createHash>): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= SIZE) return this.push(null);
      const c = Buffer.from(CHUNK);
      c.writeBigUInt64BE(BigInt(sent), 0);
      sent += c.length;
      md5.update(c);
      this.push(c);
    },
  });
}

it('1 GB up and down grows the node RSS by < 100 MB', async () => {
  const pid = s3.node.child.pid as number;
  const client = s3.client();
  await client.send(new CreateBucketCommand({ Bucket: 'large' }));
  const before = await statusKb(pid, 'VmRSS');
  const sentMd5 = createHash('md5');
  const put = await client.send(
    new PutObjectCommand({ Bucket: 'large', Key: 'one-gb.bin', Body: body(sentMd5), ContentLength: SIZE }),
  );
  const sent = sentMd5.digest('hex');
  expect(put.ETag).toBe(`"${sent}"`);
  const got = await client.send(new GetObjectCommand({ Bucket: 'large', Key: 'one-gb.bin' }));
  const gotMd5 = createHash('md5');
  let n = 0;
  for await (const c of got.Body as Readable) {
    n += (c as Buffer).length;
    gotMd5.update(c as Buffer);
  }
  expect(n).toBe(SIZE);
  expect(gotMd5.digest('hex')).toBe(sent);
  const grewMb = ((await statusKb(pid, 'VmHWM')) - before) / 1024;
  process.stdout.write(`s3-large: 1 GiB PUT+GET, node peak RSS grew ${grewMb.toFixed(1)} MB\n`);
  expect(grewMb).toBeLessThan(100);
}, 300_000);
