/**
 * Prometheus text for /metrics: requests by route, method and code, bytes in and out, errors,
 * and a latency histogram per route. Plain counters in maps: cheap enough for the hot path.
 */
export type RouteName = 'file' | 'upload' | 'delete' | 'sign' | 'cluster' | 'health' | 'metrics' | 'other';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export interface CacheGauges {
  readonly entries: number;
  readonly bytes: number;
  readonly hits: number;
  readonly misses: number;
}

export class Metrics {
  /** route -> method -> status -> count: no key string built per request (a profile of cached
   * 4 KB GETs put the string keys and their hashing among the fast path's larger costs). */
  private readonly requests = new Map<RouteName, Map<string, Map<number, number>>>();
  private readonly bytesOut = new Map<RouteName, number>();
  private readonly bytesIn = new Map<RouteName, number>();
  private readonly errors = new Map<string, number>();
  private readonly latency = new Map<RouteName, Histogram>();
  private readonly connections = { raw: 0, node: 0, handedOver: 0 };

  /** One finished request; `seconds` from the first byte read to the answer handed to the socket. */
  observe(route: RouteName, method: string, status: number, seconds: number, bytesOut: number): void {
    let byMethod = this.requests.get(route);
    if (!byMethod) {
      byMethod = new Map();
      this.requests.set(route, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (!byStatus) {
      byStatus = new Map();
      byMethod.set(method, byStatus);
    }
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    if (bytesOut > 0) this.bytesOut.set(route, (this.bytesOut.get(route) ?? 0) + bytesOut);
    if (status >= 400) {
      const ekey = `${route}\u0000${status >= 500 ? 'server' : 'client'}`;
      this.errors.set(ekey, (this.errors.get(ekey) ?? 0) + 1);
    }
    let h = this.latency.get(route);
    if (!h) {
      h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.latency.set(route, h);
    }
    h.sum += seconds;
    h.count++;
    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= (BUCKETS[i] as number)) {
        h.counts[i] = (h.counts[i] ?? 0) + 1;
        break;
      }
    }
  }

  /**
   * An accepted connection: `raw` answered on the socket (raw-conn.ts) until `handedOver` to
   * node:http, `node` there from the start (over the cap, or the server closing).
   */
  connection(kind: 'raw' | 'node' | 'handedOver'): void {
    this.connections[kind]++;
  }

  /** Upload body bytes stored. */
  received(route: RouteName, bytes: number): void {
    this.bytesIn.set(route, (this.bytesIn.get(route) ?? 0) + bytes);
  }

  render(cache: CacheGauges): string {
    const out: string[] = [];
    const head = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    head('fdfs_http_requests_total', 'counter', 'HTTP requests answered, by route, method and status code.');
    for (const [route, byMethod] of this.requests)
      for (const [method, byStatus] of byMethod)
        for (const [code, n] of byStatus)
          out.push(`fdfs_http_requests_total{route="${route}",method="${method}",code="${code}"} ${n}`);
    head('fdfs_http_errors_total', 'counter', 'HTTP answers with a 4xx (client) or 5xx (server) status.');
    for (const [key, n] of this.errors) {
      const [route, kind] = key.split('\u0000');
      out.push(`fdfs_http_errors_total{route="${route}",kind="${kind}"} ${n}`);
    }
    head('fdfs_http_response_bytes_total', 'counter', 'Body bytes sent.');
    for (const [route, n] of this.bytesOut) out.push(`fdfs_http_response_bytes_total{route="${route}"} ${n}`);
    head('fdfs_http_upload_bytes_total', 'counter', 'File bytes received and stored.');
    for (const [route, n] of this.bytesIn) out.push(`fdfs_http_upload_bytes_total{route="${route}"} ${n}`);
    head('fdfs_http_connections_total', 'counter', 'Connections accepted, by where they started.');
    out.push(`fdfs_http_connections_total{path="raw"} ${this.connections.raw}`);
    out.push(`fdfs_http_connections_total{path="node"} ${this.connections.node}`);
    head(
      'fdfs_http_connections_handed_over_total',
      'counter',
      'Raw connections handed to node:http by a request that is not a plain file GET or HEAD.',
    );
    out.push(`fdfs_http_connections_handed_over_total ${this.connections.handedOver}`);
    head('fdfs_http_request_duration_seconds', 'histogram', 'Time to answer, by route.');
    for (const [route, h] of this.latency) {
      let cumulative = 0;
      for (const [i, le] of BUCKETS.entries()) {
        cumulative += h.counts[i] ?? 0;
        out.push(`fdfs_http_request_duration_seconds_bucket{route="${route}",le="${le}"} ${cumulative}`);
      }
      out.push(`fdfs_http_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${h.count}`);
      out.push(`fdfs_http_request_duration_seconds_sum{route="${route}"} ${h.sum}`);
      out.push(`fdfs_http_request_duration_seconds_count{route="${route}"} ${h.count}`);
    }
    head('fdfs_http_file_cache_entries', 'gauge', 'Small files held in memory.');
    out.push(`fdfs_http_file_cache_entries ${cache.entries}`);
    head('fdfs_http_file_cache_bytes', 'gauge', 'Memory used by cached files.');
    out.push(`fdfs_http_file_cache_bytes ${cache.bytes}`);
    head('fdfs_http_file_cache_hits_total', 'counter', 'Downloads answered from memory.');
    out.push(`fdfs_http_file_cache_hits_total ${cache.hits}`);
    head('fdfs_http_file_cache_misses_total', 'counter', 'Local downloads that read the disk.');
    out.push(`fdfs_http_file_cache_misses_total ${cache.misses}`);
    // What a memory graph needs to tell a leak in JS objects from buffers (cache, sockets) or
    // from the allocator holding freed pages.
    const mem = process.memoryUsage();
    head('process_resident_memory_bytes', 'gauge', 'Resident set size of this process.');
    out.push(`process_resident_memory_bytes ${mem.rss}`);
    head('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use by live and not yet collected objects.');
    out.push(`nodejs_heap_used_bytes ${mem.heapUsed}`);
    head('nodejs_heap_total_bytes', 'gauge', 'V8 heap reserved.');
    out.push(`nodejs_heap_total_bytes ${mem.heapTotal}`);
    head('nodejs_external_memory_bytes', 'gauge', 'Memory outside the V8 heap held by JS objects (Buffers).');
    out.push(`nodejs_external_memory_bytes ${mem.external}`);
    return `${out.join('\n')}\n`;
  }
}

/** Which metrics route a request path belongs to. */
export function routeOf(method: string, path: string): RouteName {
  if (path === '/upload' || path.startsWith('/upload/')) return 'upload';
  if (path === '/api/sign') return 'sign';
  if (path === '/api/cluster') return 'cluster';
  if (path === '/healthz') return 'health';
  if (path === '/metrics') return 'metrics';
  if (method === 'DELETE') return 'delete';
  if (method === 'GET' || method === 'HEAD') return 'file';
  return 'other';
}
