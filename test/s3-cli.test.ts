/**
 * The S3 endpoint as the CLI wires it: `fdfs start` makes a credential once (mode 0600) and keeps
 * using it after a restart; `fdfs gateway` with s3.server_port serves S3 in front of the cluster;
 * `Expect: 100-continue` is answered only once the signature holds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startNode, tempDir } from './helpers/node-process.js';
import { bodyOf, type S3Node, startS3Node } from './helpers/s3.js';

let s3: S3Node;

beforeAll(async () => {
  s3 = await startS3Node();
});
afterAll(async () => {
  await s3?.stop();
});

describe('fdfs start', () => {
  it('makes one credential on a loopback node, prints it once, keeps it mode 0600', async () => {
    const path = join(s3.node.base, 's3-credentials');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const kept = (await readFile(path, 'utf8')).trim();
    const printed = s3.node.stdout.filter((l) => l.startsWith('fdfs s3 credential'));
    expect(printed).toEqual([
      `fdfs s3 credential (made once, kept in ${path}): access_key=${kept.split(':')[0]} secret_key=${kept.slice(kept.indexOf(':') + 1)}`,
    ]);
  });

  it('a restart on the same data folder prints nothing and keeps the pair, buckets and objects', async () => {
    const base = await tempDir();
    try {
      const first = await startNode({ base, args: ['--s3-port', '0'] });
      const pair = (await readFile(join(base, 's3-credentials'), 'utf8')).trim();
      const [accessKeyId, secretAccessKey] = [
        pair.slice(0, pair.indexOf(':')),
        pair.slice(pair.indexOf(':') + 1),
      ];
      const clientOf = (port: number) =>
        new S3Client({
          endpoint: `http://127.0.0.1:${port}`,
          region: 'us-east-1',
          forcePathStyle: true,
          credentials: { accessKeyId, secretAccessKey },
        });
      const c1 = clientOf(first.s3.port);
      await c1.send(new CreateBucketCommand({ Bucket: 'kept' }));
      await c1.send(new PutObjectCommand({ Bucket: 'kept', Key: 'k', Body: 'survives a restart' }));
      c1.destroy();
      expect(await first.stop()).toBe(0);
      const second = await startNode({ base });
      try {
        expect(second.stdout.filter((l) => l.startsWith('fdfs s3 credential'))).toEqual([]);
        const c2 = clientOf(second.s3.port);
        const got = await c2.send(new GetObjectCommand({ Bucket: 'kept', Key: 'k' }));
        expect((await bodyOf(got)).toString()).toBe('survives a restart');
        c2.destroy();
      } finally {
        await second.stop();
      }
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe('Expect: 100-continue', () => {
  /** A PUT that holds its body until the server says 100 Continue; what came back. */
  function held(auth: string): Promise<{ continued: boolean; status: number }> {
    return new Promise((resolve, reject) => {
      let continued = false;
      const req = request({
        host: s3.node.s3.host,
        port: s3.node.s3.port,
        method: 'PUT',
        path: '/nobucket/held.txt',
        headers: {
          expect: '100-continue',
          'content-length': '5',
          authorization: auth,
          'x-amz-date': '20260101T000000Z',
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        },
      });
      req.on('continue', () => {
        continued = true;
        req.end('hello');
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ continued, status: res.statusCode ?? 0 }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
  }

  it('a request whose signature fails gets its 403 without 100 Continue, so the body is never sent', async () => {
    const auth = `AWS4-HMAC-SHA256 Credential=${s3.accessKeyId}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`;
    expect(await held(auth)).toEqual({ continued: false, status: 403 });
  });
});

describe('fdfs gateway with s3.server_port', () => {
  let child: ChildProcess;
  let endpoint: string;
  const AK = 'GATEWAYKEY01';
  const SK = 'gateway-secret-01';

  beforeAll(async () => {
    const conf = join(s3.node.base, 'http-s3.conf');
    await writeFile(
      conf,
      [
        `base_path = ${join(s3.node.base, 'standalone')}`,
        `tracker_server = ${s3.node.tracker.host}:${s3.node.tracker.port}`,
        'http.server_port = 0',
        'http.bind_addr = 127.0.0.1',
        's3.server_port = 0',
        `s3.credential = ${AK}:${SK}`,
        '',
      ].join('\n'),
    );
    child = spawn(process.execPath, [CLI, 'gateway', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => stderr.push(l));
    const ready = await new Promise<string>((res, rej) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
        if (l.startsWith('fdfs ready')) res(l);
      });
      child.once('exit', (code) => rej(new Error(`fdfs gateway exited with ${code}: ${stderr.join('\n')}`)));
    });
    endpoint = `http://${/ s3=(\S+)/.exec(ready)?.[1]}`;
  }, 30_000);

  afterAll(async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('serves S3 through the cluster, the ready line naming its port', async () => {
    const client = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: AK, secretAccessKey: SK },
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'via-gateway' }));
      await client.send(
        new PutObjectCommand({ Bucket: 'via-gateway', Key: 'g.txt', Body: 'through the tracker' }),
      );
      const got = await client.send(new GetObjectCommand({ Bucket: 'via-gateway', Key: 'g.txt' }));
      expect((await bodyOf(got)).toString()).toBe('through the tracker');
    } finally {
      client.destroy();
    }
  });
});
