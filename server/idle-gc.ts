// One full garbage collection once a burst of buffer allocation is over. A
// burst of large applies leaves tens of MB of dead snapshot frames, store
// writes and request buffers outside the JS heap; V8 frees them only when
// it next collects the objects that own them, which an idle server may not
// do for minutes, so RSS stays at the burst's peak. This reads
// process.memoryUsage() once a second (a few µs) and, when the external
// (Buffer) bytes grew by at least `growthBytes` since the last collection
// and then stopped growing, runs one full GC. Only buffer growth counts:
// the JS heap grows between V8's own collections in normal work (10k
// streams: 16 MB between changes), and a forced full GC of a 100 MB heap
// blocked the event loop for 90-160 ms (--trace-gc, bench:propagation at
// 10k); a heap past `maxHeapBytes` is left to V8 for the same reason. At
// most once per `minGapMs`. Cost: docs/benchmarks.md (memory burst); the
// defaults: docs/control-plane.md (Limits and defaults).
import v8 from "node:v8";
import vm from "node:vm";
import type { Logger } from "pino";

export const IDLE_GC_GROWTH_BYTES = 8 * 1024 * 1024;
export const IDLE_GC_POLL_MS = 1000;
export const IDLE_GC_MIN_GAP_MS = 5000;
export const IDLE_GC_MAX_HEAP_BYTES = 96 * 1024 * 1024;

export interface IdleGcOptions {
  logger: Logger;
  growthBytes?: number;
  pollMs?: number;
  minGapMs?: number;
  maxHeapBytes?: number;
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

export class IdleGc {
  private readonly timer: NodeJS.Timeout;
  private readonly gc = gcFunction();
  private afterLast = process.memoryUsage().external;
  private previous = this.afterLast;
  private lastAt = 0;
  /** Figures for tests and benchmarks. */
  readonly stats = { collections: 0, lastMs: 0, lastFreedBytes: 0 };

  constructor(private readonly opts: IdleGcOptions) {
    this.timer = setInterval(() => this.check(), opts.pollMs ?? IDLE_GC_POLL_MS);
    this.timer.unref();
  }

  /** One look at the heap (the timer calls it every pollMs; tests call it directly). */
  check(): void {
    const { external: now, heapUsed } = process.memoryUsage();
    const growth = this.opts.growthBytes ?? IDLE_GC_GROWTH_BYTES;
    // V8 collected on its own since: that is the new floor.
    if (now < this.afterLast) this.afterLast = now;
    const settled = now - this.previous < growth / 16;
    this.previous = now;
    if (now - this.afterLast < growth || !settled) return;
    if (heapUsed > (this.opts.maxHeapBytes ?? IDLE_GC_MAX_HEAP_BYTES)) return;
    if (Date.now() - this.lastAt < (this.opts.minGapMs ?? IDLE_GC_MIN_GAP_MS)) return;
    const t0 = performance.now();
    this.gc();
    const ms = performance.now() - t0;
    this.afterLast = this.previous = process.memoryUsage().external;
    this.lastAt = Date.now();
    this.stats.collections++;
    this.stats.lastMs = ms;
    this.stats.lastFreedBytes = now - this.afterLast;
    this.opts.onCollect?.(ms);
    this.opts.logger.debug({ ms: Math.round(ms * 10) / 10, freedBytes: this.stats.lastFreedBytes }, "idle full GC after a buffer allocation burst");
  }

  close(): void {
    clearInterval(this.timer);
  }
}
