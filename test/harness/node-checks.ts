/**
 * "Does this node still serve?" for the run scripts: /healthz, an upload/download round trip on
 * the native port and through the gateway, a tracker answer, and stored files matching their ids.
 */
import { randomBytes } from 'node:crypto';
import { matchesId } from './verify.js';
import { type Addr, download, remove, trackerAnswers, upload } from './wire.js';

export interface NodeAddrs {
  readonly tracker: Addr;
  readonly storage: Addr;
  readonly http: Addr;
}

async function withTimeout<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

export async function httpRoundTrip(http: Addr): Promise<void> {
  const base = `http://${http.host}:${http.port}`;
  const health = await fetch(`${base}/healthz`);
  if (health.status !== 200) throw new Error(`/healthz answered ${health.status}`);
  await health.arrayBuffer();
  const data = randomBytes(1000 + Math.floor(Math.random() * 3000));
  const put = await fetch(`${base}/upload/check.bin`, { method: 'PUT', body: data });
  if (put.status !== 200) throw new Error(`PUT /upload answered ${put.status}: ${await put.text()}`);
  const { fileId } = (await put.json()) as { fileId: string };
  const got = Buffer.from(await (await fetch(`${base}/${fileId}`)).arrayBuffer());
  if (!got.equals(data)) throw new Error(`GET /${fileId} returned other bytes`);
  const del = await fetch(`${base}/${fileId}`, { method: 'DELETE' });
  if (del.status !== 204) throw new Error(`DELETE /${fileId} answered ${del.status}`);
}

export async function nativeRoundTrip(storage: Addr): Promise<void> {
  const data = randomBytes(1000 + Math.floor(Math.random() * 3000));
  const id = await upload(storage, data, 'bin');
  const got = await download(storage, id);
  if (!got.equals(data)) throw new Error(`download of ${id} returned other bytes`);
  await remove(storage, id);
}

/** Every failure as a line; [] when the node serves and `fileIds` match their ids. */
export async function checkNode(
  n: NodeAddrs,
  storeRoot: string,
  fileIds: Iterable<string>,
): Promise<string[]> {
  const problems: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await withTimeout(what, 15_000, fn());
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
    }
  };
  await step('http', () => httpRoundTrip(n.http));
  await step('native', () => nativeRoundTrip(n.storage));
  await step('tracker', () => trackerAnswers(n.tracker));
  for (const id of fileIds) {
    const bad = await matchesId(storeRoot, id);
    if (bad) problems.push(bad);
  }
  return problems;
}
