// What a WasmVm is configured with (WasmVm.load options) and the counts it keeps.
import type { LogLevelName } from "./abi.ts";
import type { HostLogger } from "./logger.ts";
import type { MetricStore } from "./metrics.ts";
import type { PropertyValue } from "./properties.ts";

export interface NodeInfo {
  id?: string;
  cluster?: string;
  /** Envoy node metadata, e.g. {WORKLOAD_NAME, NAMESPACE, NAME, LABELS: {...}}. */
  metadata?: Record<string, PropertyValue>;
}

export interface VmOptions {
  /** Plugin configuration (BufferType.PluginConfiguration, size passed to proxy_on_configure). */
  pluginConfig?: string | Uint8Array;
  /** VM configuration (BufferType.VmConfiguration, size passed to proxy_on_vm_start). */
  vmConfig?: string | Uint8Array;
  node?: NodeInfo;
  /** gRPC cluster name -> "host:port" (what Envoy's cluster manager would resolve). */
  clusters?: Record<string, string | string[]>;
  /** Address(es) used for a cluster missing from `clusters` (unset: such streams fail like an unknown cluster). */
  defaultCluster?: string | string[];
  /**
   * proxy-wasm-cpp-host's allow_on_headers_stop_iteration (off in Envoy): when
   * off, a StopIteration from proxy_on_request_headers is turned into
   * StopAllIterationAndWatermark; when on, it is kept and the first body chunk
   * goes to proxy_on_request_body, whose Continue resumes the request.
   */
  allowOnHeadersStopIteration?: boolean;
  logger?: HostLogger;
  /** Level reported by proxy_get_log_level and used for the default logger (info). */
  logLevel?: LogLevelName;
  /** Shared metric store (several worker VMs share one, as Envoy's stats are process-wide). */
  metrics?: MetricStore;
  rootId?: string;
  pluginName?: string;
  vmId?: string;
  /** Extra properties (top-level tokens) for proxy_get_property. */
  properties?: Record<string, PropertyValue>;
  /** Behaviour when the VM has crashed: false (Envoy's default FAIL_CLOSED) answers 503. */
  failOpen?: boolean;
  /** Worker index (used only in log lines; -1 = the configuration canary, 0 = the main thread). */
  worker?: number;
  /** "main" for the main thread's VM (log lines only). */
  thread?: "main";
  /** Observer of every callback the host makes into the guest (tests, debugging). */
  onGuestCall?: (callback: string, args: number[]) => void;
  /** Observer of messages the guest sends on gRPC streams (benchmarks, debugging). */
  onGrpcSend?: (message: Uint8Array, token: number) => void;
}

/** Counts of host-side events tests and benchmarks look at. */
export interface HostStats {
  /** Guest traps / host errors that failed the VM. */
  crashes: number;
  /** proxy_set_effective_context calls naming a context that no longer exists. */
  staleContextCalls: number;
  /** Guest callback time (ms, performance.now) — for the benchmark's guest/host split. */
  guestMs: number;
  guestCalls: number;
  /** Part of guestMs spent back in host functions the guest called (less the guest allocator they call: guest code). */
  hostInGuestMs: number;
}
