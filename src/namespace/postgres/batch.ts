/**
 * Group commit in the gateway: calls that arrive while a statement of the same kind runs wait for
 * it and then go together in the next one, so concurrent uploads share a round trip, a commit and
 * its WAL flush, as lmdb's share a transaction. A call alone (a quiet gateway) goes at once. Each
 * caller gets its own result; `run` decides what a failure means for each.
 */
export class Batcher<In, Out> {
  private queue: { input: In; resolve(out: Out): void; reject(err: unknown): void }[] = [];
  private running = false;

  /** `run` answers one outcome per input, in order: a value, or an error for that input alone. */
  constructor(
    private readonly run: (inputs: readonly In[]) => Promise<readonly (Out | Failed)[]>,
    private readonly max: number,
  ) {}

  add(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.max);
      try {
        const outs = await this.run(batch.map((b) => b.input));
        batch.forEach((b, i) => {
          const out = outs[i];
          if (out instanceof Failed) b.reject(out.err);
          else if (i >= outs.length) b.reject(new Error('a batch answered fewer results than it was given'));
          else b.resolve(out as Out);
        });
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.running = false;
  }
}

/** One input's own failure inside a batch that otherwise answered. */
export class Failed {
  constructor(readonly err: unknown) {}
}
