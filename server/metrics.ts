// Prometheus metrics, one registry per server instance (tests run several
// servers in one process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { faultMetrics, type FaultMetrics } from "./faults/ledger.ts";

export interface Metrics {
  registry: Registry;
  pushes: Counter;
  applyToPush: Histogram;
  acks: Counter;
  nacks: Counter;
  storeErrors: Counter<"op">;
  invalidPolicies: Counter;
  /** Per-policy fault counts reported by the filters (faults/ledger.ts). */
  faults: FaultMetrics;
  /** Set by the stream registry: open streams per sent snapshot version. */
  streamsByVersion: () => Map<string, number>;
  /** Set by the stream registry: open streams by "state version" (state acked, nacked or pending). */
  streamsByState: () => Map<string, number>;
  /** Set by the view: 1 while anything is paused. */
  pauseActive: () => number;
}

/** prom-client default metrics HFI does not export (cost grows with the stream count). */
export const EXPENSIVE_DEFAULT_METRICS = [
  "nodejs_active_handles",
  "nodejs_active_handles_total",
  "nodejs_active_resources",
  "nodejs_active_resources_total",
  "nodejs_active_requests",
  "nodejs_active_requests_total",
  "process_open_fds",
];

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // These walk every libuv handle / open fd on each scrape: with 10k config streams one scrape
  // blocked the event loop for tens of ms (CPU profile of bench:propagation). Stream counts are
  // hfi_config_streams; fds are the kernel's to report (process_max_fds stays).
  for (const name of EXPENSIVE_DEFAULT_METRICS) registry.removeSingleMetric(name);
  const metrics: Metrics = {
    registry,
    pushes: new Counter({ name: "hfi_config_pushes_total", help: "Config snapshots written to filter streams", registers: [registry] }),
    applyToPush: new Histogram({
      name: "hfi_apply_to_push_seconds",
      help: "From a policy write (ApplyPolicy/REST/DeletePolicy on this replica; else the store event's arrival) to the last write of the new snapshot to an identity group's streams, once per group and change",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    acks: new Counter({ name: "hfi_acks_total", help: "ACKs received from filters", registers: [registry] }),
    nacks: new Counter({ name: "hfi_nacks_total", help: "NACKs received from filters", registers: [registry] }),
    storeErrors: new Counter({ name: "hfi_store_errors_total", help: "Failed store operations by operation", labelNames: ["op"], registers: [registry] }),
    invalidPolicies: new Counter({ name: "hfi_invalid_policies_total", help: "Invalid policy values seen in the store (never pushed)", registers: [registry] }),
    streamsByVersion: () => new Map(),
    streamsByState: () => new Map(),
    pauseActive: () => 0,
    faults: faultMetrics(registry),
  };
  new Gauge({
    name: "hfi_config_streams",
    help: "Connected config streams by the snapshot version last sent",
    labelNames: ["version"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [version, n] of metrics.streamsByVersion()) this.set({ version }, n);
    },
  });
  new Gauge({
    name: "hfi_config_streams_by_state",
    help: "Connected config streams by the state of the snapshot last sent to them (acked, nacked, pending) and its version",
    labelNames: ["state", "version"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, n] of metrics.streamsByState()) {
        const [state, version] = key.split(" ");
        this.set({ state: state!, version: version ?? "" }, n);
      }
    },
  });
  new Gauge({
    name: "hfi_pause_active",
    help: "1 while the pause switch stops any injection (hfi pause), else 0",
    registers: [registry],
    // Every process of a replica has the same view: not a sum.
    aggregator: "max",
    collect() {
      this.set(metrics.pauseActive());
    },
  });
  return metrics;
}
