/** A real `fdfs gateway` process with an S3 endpoint, in front of a cluster reached through its tracker. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { S3Client } from '@aws-sdk/client-s3';
import { CLI } from './node-process.js';

export interface S3Gateway {
  readonly child: ChildProcess;
  readonly endpoint: string;
  /** Every line the process wrote to stderr (its JSON log). */
  readonly stderr: string[];
  /**
   * An SDK client. raw: no retries and a new connection per request, so each answer is seen exactly
   * as the gateway gave it (a reused keep-alive connection the server is closing can otherwise fail a
   * request that never reached it, which the SDK's retry normally hides).
   */
  client(opts?: { raw?: boolean }): S3Client;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface S3GatewayOptions {
  /** Its own data folder (pid file, spool). */
  readonly base: string;
  readonly tracker: { host: string; port: number };
  /** Loopback address to bind (127.0.0.2, 127.0.0.3 …). */
  readonly host: string;
  /** ACCESS:SECRET. */
  readonly credential: string;
  /** More http.conf lines (e.g. s3.namespace = postgres://…). */
  readonly lines?: readonly string[];
}

export async function startS3Gateway(o: S3GatewayOptions): Promise<S3Gateway> {
  await mkdir(o.base, { recursive: true });
  const conf = join(o.base, 'http.conf');
  await writeFile(
    conf,
    [
      `base_path = ${o.base}`,
      `tracker_server = ${o.tracker.host}:${o.tracker.port}`,
      'http.server_port = 0',
      `http.bind_addr = ${o.host}`,
      's3.server_port = 0',
      `s3.credential = ${o.credential}`,
      ...(o.lines ?? []),
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [CLI, 'gateway', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => stderr.push(l));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const ready = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      if (l.startsWith('fdfs ready')) res(l);
    });
    void exited.then((code) => rej(new Error(`fdfs gateway exited with ${code}: ${stderr.join('\n')}`)));
  });
  const endpoint = `http://${/ s3=(\S+)/.exec(ready)?.[1]}`;
  const [accessKeyId, secretAccessKey] = o.credential.split(':') as [string, string];
  const clients: S3Client[] = [];
  return {
    child,
    endpoint,
    stderr,
    client(opts = {}) {
      const c = new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId, secretAccessKey },
        ...(opts.raw && { maxAttempts: 1, requestHandler: { httpAgent: new Agent({ keepAlive: false }) } }),
      });
      clients.push(c);
      return c;
    },
    async stop(signal = 'SIGTERM') {
      for (const c of clients) c.destroy();
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}
