// The VMs of one plugin in one Envoy process, created as Envoy creates them:
// first a configuration canary (proxy-wasm-cpp-host runs vm_start + configure
// on a clone and destroys it, no further callbacks), then one VM per thread
// through Envoy's thread-local slot: the main thread's and one per worker.
// Requests go to the workers only (round-robin, Envoy's listener balancing
// simplified); the main-thread VM lives but never sees a request. The
// compiled module and the metric store are shared.
import type { DownstreamPeer } from "./peer.ts";
import { WasmVm, type VmOptions } from "./vm.ts";
import type { HttpStream, RequestInit, RequestResult } from "./http-stream.ts";
import { MetricStore } from "./metrics.ts";
import type { HeaderPair } from "./pairs.ts";
import type { PropertyValue } from "./properties.ts";

export interface PoolOptions extends VmOptions {
  /** Worker VMs (Envoy --concurrency; default 1). */
  workers?: number;
  /** Also create the main thread's VM, as Envoy does (default true). */
  mainThread?: boolean;
  /** Run the configuration canary first, as proxy-wasm-cpp-host does (default true). */
  canary?: boolean;
}

export class VmPool {
  private next = 0;
  private constructor(
    /** The worker VMs (they serve requests). */
    readonly vms: WasmVm[],
    /** The main thread's VM (never serves a request), when created. */
    readonly mainVm: WasmVm | undefined,
    readonly metricStore: MetricStore,
  ) {}

  static async load(wasm: string | Uint8Array, options: PoolOptions = {}): Promise<VmPool> {
    const workers = Math.max(1, Math.floor(options.workers ?? 1));
    const checked = await WasmVm.compile(wasm);
    const metrics = options.metrics ?? new MetricStore();
    if (options.canary ?? true) {
      const canary = await WasmVm.load(checked, { ...options, metrics, worker: -1 });
      canary.kill();
    }
    const all: WasmVm[] = [];
    try {
      const main = options.mainThread ?? true ? await WasmVm.load(checked, { ...options, metrics, worker: 0, thread: "main" }) : undefined;
      if (main) all.push(main);
      for (let i = 0; i < workers; i++) all.push(await WasmVm.load(checked, { ...options, metrics, worker: i + 1 }));
      return new VmPool(main ? all.slice(1) : all, main, metrics);
    } catch (err) {
      await Promise.all(all.map((v) => v.close()));
      throw err;
    }
  }

  /** Every VM of the process: the main thread's (if any) and the workers. */
  get allVms(): WasmVm[] {
    return this.mainVm ? [this.mainVm, ...this.vms] : [...this.vms];
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

  startStream(headers: HeaderPair[], endOfStream = true, peer?: DownstreamPeer, properties?: Record<string, PropertyValue>): HttpStream {
    return this.pick().startStream(headers, endOfStream, peer, properties);
  }

  metrics(): Record<string, number> {
    return this.metricStore.snapshot();
  }

  async close(): Promise<void> {
    await Promise.all(this.allVms.map((v) => v.close()));
  }
}
