// Several VMs of one plugin, like Envoy's worker threads: each worker has its
// own VM instance (own root context, own control-plane stream), the compiled
// module and the metric store are shared, and requests are handed out
// round-robin (Envoy's kernel/listener balancing, simplified).
import { WasmVm, type VmOptions } from "./vm.ts";
import type { HttpStream, RequestInit, RequestResult } from "./http-stream.ts";
import { MetricStore } from "./metrics.ts";
import type { HeaderPair } from "./pairs.ts";

export interface PoolOptions extends VmOptions {
  /** Number of worker VMs (default 1). */
  workers?: number;
}

export class VmPool {
  private next = 0;
  private constructor(
    readonly vms: WasmVm[],
    readonly metricStore: MetricStore,
  ) {}

  static async load(wasm: string | Uint8Array, options: PoolOptions = {}): Promise<VmPool> {
    const workers = Math.max(1, Math.floor(options.workers ?? 1));
    const checked = await WasmVm.compile(wasm);
    const metrics = options.metrics ?? new MetricStore();
    const vms: WasmVm[] = [];
    try {
      for (let i = 0; i < workers; i++) {
        vms.push(await WasmVm.load(checked, { ...options, metrics, worker: i }));
      }
    } catch (err) {
      await Promise.all(vms.map((v) => v.close()));
      throw err;
    }
    return new VmPool(vms, metrics);
  }

  /** The worker VM that takes the next request. */
  pick(): WasmVm {
    const vm = this.vms[this.next]!;
    this.next = (this.next + 1) % this.vms.length;
    return vm;
  }

  request(init?: RequestInit): Promise<RequestResult> {
    return this.pick().request(init);
  }

  startStream(headers: HeaderPair[], endOfStream = true): HttpStream {
    return this.pick().startStream(headers, endOfStream);
  }

  metrics(): Record<string, number> {
    return this.metricStore.snapshot();
  }

  async close(): Promise<void> {
    await Promise.all(this.vms.map((v) => v.close()));
  }
}
