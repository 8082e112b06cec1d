/** Prometheus lines of the image variants, appended to the gateway's /metrics. */
export interface SlotGauges {
  readonly active: number;
  readonly queued: number;
}

export class VariantMetrics {
  /** Stored variants answered without a render. */
  served = 0;
  private ok = 0;
  private refused = 0;
  private failed = 0;
  private seconds = 0;

  rendered(ms: number): void {
    this.ok++;
    this.seconds += ms / 1000;
  }

  /** `refusal`: the master is no image, too large or missing; otherwise a timeout or a fault. */
  failedRender(refusal: boolean, ms: number): void {
    if (refusal) this.refused++;
    else this.failed++;
    this.seconds += ms / 1000;
  }

  render(slots: SlotGauges): string {
    const out = [
      '# HELP fdfs_image_renders_total Image variant renders, by result (ok = rendered and stored).',
      '# TYPE fdfs_image_renders_total counter',
      `fdfs_image_renders_total{result="ok"} ${this.ok}`,
      `fdfs_image_renders_total{result="refused"} ${this.refused}`,
      `fdfs_image_renders_total{result="failed"} ${this.failed}`,
      '# HELP fdfs_image_render_seconds_total Time spent reading masters and rendering variants.',
      '# TYPE fdfs_image_render_seconds_total counter',
      `fdfs_image_render_seconds_total ${this.seconds}`,
      '# HELP fdfs_image_variants_served_total Stored variants answered without a render.',
      '# TYPE fdfs_image_variants_served_total counter',
      `fdfs_image_variants_served_total ${this.served}`,
      '# HELP fdfs_image_renders_active Renders running now.',
      '# TYPE fdfs_image_renders_active gauge',
      `fdfs_image_renders_active ${slots.active}`,
      '# HELP fdfs_image_renders_queued Renders waiting for a slot.',
      '# TYPE fdfs_image_renders_queued gauge',
      `fdfs_image_renders_queued ${slots.queued}`,
    ];
    return `${out.join('\n')}\n`;
  }
}
