// Timers and time: one tick timer per root context with Envoy's semantics
// (a new period restarts it, 0 stops it, re-armed after each proxy_on_tick),
// proxy_set_tick_period_milliseconds and proxy_get_current_time_nanoseconds.
import { performance } from "node:perf_hooks";
import { WasmResult as R } from "../abi.ts";
import type { HostEnv, ImportTable } from "../host-env.ts";

/** Wall-clock time in ns (proxy_get_current_time_nanoseconds, WASI clock 0). */
export function wallClockNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

export class TickTimers {
  private readonly period = new Map<number, number>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private stopped = false;

  /** @param onTick calls proxy_on_tick on the root context. */
  constructor(private readonly onTick: (rootId: number) => void) {}

  /** The root context's period (0 = no timer armed). */
  periodOf(rootId: number): number {
    return this.period.get(rootId) ?? 0;
  }

  set(rootId: number, ms: number): void {
    const old = this.timers.get(rootId);
    if (old) clearTimeout(old);
    this.timers.delete(rootId);
    if (ms <= 0 || this.stopped) {
      this.period.delete(rootId);
      return;
    }
    this.period.set(rootId, ms);
    this.arm(rootId);
  }

  private arm(rootId: number): void {
    const ms = this.period.get(rootId);
    if (!ms || this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(rootId);
      this.onTick(rootId);
      // Re-armed after the callback, like Envoy's timer (unless it changed the period itself).
      if (!this.timers.has(rootId)) this.arm(rootId);
    }, ms);
    this.timers.set(rootId, t);
  }

  /** VM shutdown: no timer fires or is armed again. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.period.clear();
  }

  imports(env: HostEnv): ImportTable {
    return {
      proxy_set_tick_period_milliseconds: (ms: number) => {
        const c = env.context();
        if (!c) return R.BadArgument;
        // Envoy: a stream context's call sets its root context's timer.
        this.set(c.rootId, ms >>> 0);
        return R.Ok;
      },
      proxy_get_current_time_nanoseconds: (ptr: number) => (env.mem.setU64(ptr, wallClockNs()) ? R.Ok : R.InvalidMemoryAccess),
    };
  }
}
