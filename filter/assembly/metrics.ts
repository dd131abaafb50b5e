// The filter's metrics, defined once per VM with proxy_define_metric (names as
// the old Rust plugin's, so /stats/prometheus shows wasmcustom_hfi_...).
// A failed definition leaves the id undefined: the metric is off, never fatal.

import * as abi from "./abi";
import { MetricType } from "./abi";

// Metric ids (per VM; 0xffffffff = undefined).
export let mAborts: u32 = 0xffffffff;
export let mDelays: u32 = 0xffffffff;
export let mReconnects: u32 = 0xffffffff;
export let mNacks: u32 = 0xffffffff;
export let mVersion: u32 = 0xffffffff;
export let mDelayMs: u32 = 0xffffffff;
export let mOverMaxActive: u32 = 0xffffffff;
export let mResponses: u32 = 0xffffffff;
export let mRateLimited: u32 = 0xffffffff;
let metricsDefined = false;

export function defineMetrics(): void {
  if (metricsDefined) return;
  metricsDefined = true;
  mAborts = abi.defineMetric(MetricType.Counter, "wasmcustom.hfi_faults_aborts_total");
  mDelays = abi.defineMetric(MetricType.Counter, "wasmcustom.hfi_faults_delays_total");
  mReconnects = abi.defineMetric(MetricType.Counter, "wasmcustom.hfi_config_reconnects_total");
  mNacks = abi.defineMetric(MetricType.Counter, "wasmcustom.hfi_config_nacks_total");
  mVersion = abi.defineMetric(MetricType.Gauge, "wasmcustom.hfi_config_version");
  mDelayMs = abi.defineMetric(MetricType.Histogram, "wasmcustom.hfi_fault_delay_milliseconds");
  mOverMaxActive = abi.defineMetric(MetricType.Counter, "wasmcustom.hfi_faults_skipped_max_active_total");
  mResponses = abi.defineMetric(MetricType.Counter, "wasmcustom.hfi_faults_responses_total");
  mRateLimited = abi.defineMetric(MetricType.Counter, "wasmcustom.hfi_faults_rate_limited_total");
}
