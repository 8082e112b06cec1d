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
