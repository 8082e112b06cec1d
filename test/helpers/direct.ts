/** A client of one tracker for process tests, and uploads sent straight to one storage. */
import { FdfsClient, resolveSource, StorageClient } from '../../src/client/index.js';
import { defaultClientConfig } from '../../src/config/index.js';

/** A client of the tracker at `t`, with short timeouts (nodes get killed under it). */
export function trackerClient(t: { host: string; port: number }): FdfsClient {
  return new FdfsClient(
    defaultClientConfig(
      new Map([
        ['tracker_server', [`${t.host}:${t.port}`]],
        ['network_timeout', ['5']],
        ['connect_timeout', ['2']],
      ]),
    ).config,
  );
}

/** An upload straight to the storage at `to`, as a client the tracker sent there; the file id. */
export async function uploadDirect(
  client: FdfsClient,
  to: { host: string; port: number },
  content: Buffer,
  ext = 'bin',
): Promise<string> {
  const stored = await client.pool.use({ host: to.host, port: to.port }, async (conn) =>
    new StorageClient(conn).upload({
      storePathIndex: 0xff,
      ext,
      content: await resolveSource(content),
      appender: false,
    }),
  );
  return `${stored.group}/${stored.remote}`;
}
