/** Request bodies as the storage's verbs take them: read off and dropped, or a buffer as a stream. */

/** Reads a body to its end and drops it, so the connection stays in step with its packets. */
export async function drainBody(body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of body) {
    // nothing kept
  }
}

/** A body already read whole, as the one chunk an upload takes. */
export async function* onceBody(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}
