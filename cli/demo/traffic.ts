// Open-loop demo traffic: a request every 1/rps seconds (not waiting for the
// previous one, so injected delays show up as latency, not as fewer
// requests), round-robin over a few paths; per-second and per-phase figures.
import http from "node:http";

export interface Sample {
  path: string;
  /** Date.now() when the request was sent. */
  sentAt: number;
  /** HTTP status, or 0 when the request failed (connection error, timeout). */
  status: number;
  ms: number;
}

export interface Stats {
  requests: number;
  byStatus: Map<number, number>;
  /** Requests that took at least the delay threshold. */
  delayed: number;
  p50: number;
  p99: number;
  max: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(samples: Sample[], delayedAtMs: number): Stats {
  const byStatus = new Map<number, number>();
  for (const s of samples) byStatus.set(s.status, (byStatus.get(s.status) ?? 0) + 1);
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  return {
    requests: samples.length,
    byStatus,
    delayed: samples.filter((s) => s.ms >= delayedAtMs).length,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    max: ms[ms.length - 1] ?? 0,
  };
}

export class Traffic {
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<http.ClientRequest>();
  private next = 0;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  /** Samples completed since the last take(). */
  private window: Sample[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly paths: string[],
    private readonly rps: number,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.fire(), Math.round(1000 / this.rps));
  }

  /** Stops sending; waits for requests in flight (they are short or delayed, never stuck: 15 s timeout). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    while (this.inFlight.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  /** Stops at once, abandoning requests in flight (Ctrl-C). */
  abort(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const r of this.inFlight) r.destroy();
    this.agent.destroy();
  }

  close(): void {
    this.agent.destroy();
  }

  /** Samples completed since the previous call. */
  take(): Sample[] {
    const w = this.window;
    this.window = [];
    return w;
  }

  private fire(): void {
    const path = this.paths[this.next++ % this.paths.length]!;
    const started = performance.now();
    const sentAt = Date.now();
    const done = (status: number) => {
      if (!this.inFlight.delete(req)) return; // already counted
      this.window.push({ path, sentAt, status, ms: performance.now() - started });
    };
    const req = http.get(`${this.baseUrl}${path}`, { agent: this.agent, timeout: 15_000 }, (res) => {
      res.resume();
      res.on("end", () => done(res.statusCode ?? 0));
      res.on("error", () => done(0));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => done(0));
    this.inFlight.add(req);
  }
}
