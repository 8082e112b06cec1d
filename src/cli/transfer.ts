/** Local files as upload sources, streamed (never read whole), with a progress bar when it helps. */
import { pipeline } from 'node:stream';
import { type Content, resolveSource, type UploadSource } from '../client/index.js';
import { progressMeter, wantsProgress } from './progress.js';
import type { VerbContext } from './verb.js';

export interface LocalSource {
  /** What to hand the client: the path itself, or a metered stream of the same bytes. */
  readonly source: UploadSource;
  readonly size: number;
}

/**
 * A local file to send. Small files, or any file when stderr is no terminal, go as the path (the
 * client can re-open it for a retry); large ones go through the progress meter.
 */
export async function localSource(ctx: VerbContext, path: string, label: string): Promise<LocalSource> {
  const content = await resolveSource(path);
  if (!wantsProgress(ctx.io.stderr, content.size)) return { source: path, size: content.size };
  return { source: { stream: metered(ctx, content, label), size: content.size }, size: content.size };
}

function metered(ctx: VerbContext, content: Content, label: string) {
  const meter = progressMeter(ctx.io.stderr, { label, total: content.size });
  pipeline(content.open(), meter, () => {});
  return meter;
}
