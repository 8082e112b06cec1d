/** A real `fdfs start` with its S3 endpoint, and an @aws-sdk/client-s3 client with default settings. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { type RunningNode, startNode } from './node-process.js';

export interface S3Node {
  readonly node: RunningNode;
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  client(opts?: { accessKeyId?: string; secretAccessKey?: string; forcePathStyle?: boolean }): S3Client;
  /** Files under the node's spool folders: none may outlive a request. */
  tempFiles(): Promise<string[]>;
  stop(): Promise<void>;
}

/** `credentials`: ACCESS:SECRET pairs set through --set (the first is the client's); none = the one fdfs start makes. */
export async function startS3Node(opts: { args?: string[]; credentials?: string[] } = {}): Promise<S3Node> {
  const sets = (opts.credentials ?? []).flatMap((c) => ['--set', `s3.credential=${c}`]);
  const node = await startNode({ args: [...sets, ...(opts.args ?? [])] });
  const first = opts.credentials?.[0] ?? (await readFile(join(node.base, 's3-credentials'), 'utf8')).trim();
  const colon = first.indexOf(':');
  const accessKeyId = first.slice(0, colon);
  const secretAccessKey = first.slice(colon + 1);
  const endpoint = `http://${node.s3.host}:${node.s3.port}`;
  const clients: S3Client[] = [];
  return {
    node,
    endpoint,
    accessKeyId,
    secretAccessKey,
    client(opts = {}) {
      const c = new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: opts.forcePathStyle ?? true,
        credentials: {
          accessKeyId: opts.accessKeyId ?? accessKeyId,
          secretAccessKey: opts.secretAccessKey ?? secretAccessKey,
        },
      });
      clients.push(c);
      return c;
    },
    async tempFiles() {
      const out: string[] = [];
      for (const dir of ['s3-tmp', 'gateway/tmp']) {
        const names = await readdir(join(node.base, dir)).catch(() => []);
        out.push(...names.map((n) => join(dir, n)));
      }
      return out;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await node.stop();
    },
  };
}

/** The body of a GetObject answer as a Buffer (fails the test when there is none). */
export async function bodyOf(out: {
  Body?: { transformToByteArray(): Promise<Uint8Array> };
}): Promise<Buffer> {
  if (!out.Body) throw new Error('the answer has no body');
  return Buffer.from(await out.Body.transformToByteArray());
}
