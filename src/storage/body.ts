/** Request bodies as the storage's verbs take them: read off and dropped, or a buffer as a stream. */

/** Content as the verbs take it: chunks as they arrive, or a body already read whole ([buf]). */
export type BodyChunks = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Reads a body to its end and drops it, so the connection stays in step with its packets. */
export async function drainBody(body: BodyChunks): Promise<void> {
  for await (const _ of body) {
    // nothing kept
  }
}

/** A body already read whole, as the one chunk an upload takes. */
export async function* onceBody(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

/**
 * The first bytes of `body`, up to `limit` + 1: all of it (`data`) when it ended within `limit`,
 * else a body that gives them and then the rest.
 */
export async function readHead(
  body: AsyncIterable<Buffer>,
  limit: number,
): Promise<{ data: Buffer } | { body: AsyncIterable<Buffer> }> {
  const it = body[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let bytes = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) return { data: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes) };
    chunks.push(r.value);
    bytes += r.value.length;
    if (bytes > limit) return { body: resume(chunks, it) };
  }
}

async function* resume(head: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* head;
    for (let r = await rest.next(); !r.done; r = await rest.next()) yield r.value;
  } finally {
    await rest.return?.();
  }
}
