/** At most `max` renders at once, `maxQueue` more waiting; past that a render is refused (503). */
import { FdfsError, Status } from '../common/index.js';
import { spoken } from '../gateway/index.js';

export class RenderSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly max: number,
    private readonly maxQueue: number,
  ) {}

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.max) this.running++;
    else if (this.waiting.length < this.maxQueue) await new Promise<void>((r) => this.waiting.push(r));
    else throw spoken(new FdfsError(Status.EBUSY, 'too many image renders are waiting; try again shortly'));
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, so `running` never dips below the work in hand.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
