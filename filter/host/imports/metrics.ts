// Metric host functions (proxy_define/increment/record/get_metric): per-VM
// ids in Envoy's encoding (type in the low 2 bits, first ids 4/5/6) for
// metrics kept in a MetricStore that VMs may share (Envoy stats are process-wide).
import { METRIC_ID_INCREMENT, MetricType, WasmResult as R } from "../abi.ts";
import type { HostEnv, ImportTable } from "../host-env.ts";
import type { Metric, MetricKind, MetricStore } from "../metrics.ts";

export function metricImports(env: HostEnv, store: MetricStore): ImportTable {
  const { mem } = env;
  const metricIds = new Map<number, Metric>();
  const metricIdByName = new Map<string, number>();
  const nextMetricId: Record<MetricKind, number> = {
    counter: MetricType.Counter,
    gauge: MetricType.Gauge,
    histogram: MetricType.Histogram,
  };
  return {
    proxy_define_metric: (type: number, np: number, ns: number, resultPtr: number) => {
      const name = mem.str(np, ns);
      if (name === undefined) return R.InvalidMemoryAccess;
      const kind: MetricKind | undefined = (["counter", "gauge", "histogram"] as const)[type];
      if (!kind) return R.BadArgument;
      const key = `${kind}:${name}`;
      let id = metricIdByName.get(key);
      if (id === undefined) {
        // Envoy pre-increments (first counter id 4, gauge 5, histogram 6): id 0 is never a metric.
        id = nextMetricId[kind] += METRIC_ID_INCREMENT;
        metricIdByName.set(key, id);
        metricIds.set(id, store.define(name, kind));
      }
      return mem.setU32(resultPtr, id) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_increment_metric: (id: number, offset: bigint) => {
      const m = metricIds.get(id >>> 0);
      if (!m) return R.NotFound;
      if (m.kind === "counter") {
        // Envoy: counters only go up, and by a positive amount.
        if (offset <= 0n) return R.BadArgument;
        m.value += offset;
      } else if (m.kind === "gauge") {
        m.value += offset;
      } else {
        return R.BadArgument;
      }
      return R.Ok;
    },
    proxy_record_metric: (id: number, value: bigint) => {
      const m = metricIds.get(id >>> 0);
      if (!m) return R.NotFound;
      const v = BigInt.asUintN(64, value);
      if (m.kind === "counter") m.value += v;
      else if (m.kind === "gauge") m.value = v;
      else {
        m.value += 1n;
        m.sum += v;
      }
      return R.Ok;
    },
    proxy_get_metric: (id: number, resultPtr: number) => {
      const m = metricIds.get(id >>> 0);
      if (!m) return R.NotFound;
      if (m.kind === "histogram") return R.BadArgument;
      return mem.setU64(resultPtr, m.value) ? R.Ok : R.InvalidMemoryAccess;
    },
  };
}
