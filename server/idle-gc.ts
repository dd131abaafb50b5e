// One full garbage collection once a burst of allocation is over. A burst of
// large applies leaves tens of MB of dead snapshot frames, store writes and
// request buffers; V8 collects them only when it next needs space, which an
// idle server may not do for minutes, so RSS stays at the burst's peak. This
// checks the heap once a second (process.memoryUsage(), a few µs) and, when
// the live + external bytes grew by at least `growthBytes` since the last
// collection and then stopped growing, runs one full GC. It never runs while
// allocation goes on (a fan-out in progress), and at most once per `minGapMs`.
// Cost and figures: docs/benchmarks.md (memory burst); the knob is documented
// in docs/control-plane.md (Limits and defaults).
import v8 from "node:v8";
import vm from "node:vm";
import type { Logger } from "pino";

export const IDLE_GC_GROWTH_BYTES = 16 * 1024 * 1024;
export const IDLE_GC_POLL_MS = 1000;
export const IDLE_GC_MIN_GAP_MS = 5000;

export interface IdleGcOptions {
  logger: Logger;
  growthBytes?: number;
  pollMs?: number;
  minGapMs?: number;
  /** Called after each collection with its duration (metrics). */
  onCollect?: (ms: number) => void;
}

/** The global gc() without the --expose-gc flag on the command line (set at runtime, then read from a fresh context). */
function gcFunction(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

const held = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

export class IdleGc {
  private readonly timer: NodeJS.Timeout;
  private readonly gc = gcFunction();
  private afterLast = held();
  private previous = this.afterLast;
  private lastAt = 0;
  /** Figures for tests and benchmarks. */
  readonly stats = { collections: 0, lastMs: 0, lastFreedBytes: 0 };

  constructor(private readonly opts: IdleGcOptions) {
    this.timer = setInterval(() => this.check(), opts.pollMs ?? IDLE_GC_POLL_MS);
    this.timer.unref();
  }

  private check(): void {
    const now = held();
    const growth = this.opts.growthBytes ?? IDLE_GC_GROWTH_BYTES;
    // V8 collected on its own since: that is the new floor.
    if (now < this.afterLast) this.afterLast = now;
    const settled = now - this.previous < growth / 16;
    this.previous = now;
    if (now - this.afterLast < growth || !settled) return;
    if (Date.now() - this.lastAt < (this.opts.minGapMs ?? IDLE_GC_MIN_GAP_MS)) return;
    const t0 = performance.now();
    this.gc();
    const ms = performance.now() - t0;
    this.afterLast = this.previous = held();
    this.lastAt = Date.now();
    this.stats.collections++;
    this.stats.lastMs = ms;
    this.stats.lastFreedBytes = now - this.afterLast;
    this.opts.onCollect?.(ms);
    this.opts.logger.debug({ ms: Math.round(ms * 10) / 10, freedBytes: this.stats.lastFreedBytes }, "idle full GC after an allocation burst");
  }

  close(): void {
    clearInterval(this.timer);
  }
}
