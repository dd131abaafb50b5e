// Fault counts of one control-plane process: the deltas the filters report
// (FaultReport: total - previous, so nothing is counted twice across
// reconnects, replicas or restarts) summed per (policy, rule, abort status,
// service, namespace), exposed as Prometheus counters and in policy status.
// Label cardinality is bounded: past maxSeries label sets, new ones are
// counted under policy/service/namespace "_overflow" (and counted in
// hfi_fault_series_overflow_total).
import { Counter, type Registry } from "prom-client";
import type { FaultReportOut, FaultTotals, IdentityOut } from "../../proto/loader.ts";

export const DEFAULT_MAX_FAULT_SERIES = 2000;
export const OVERFLOW = "_overflow";

export interface Totals {
  matched: number;
  aborted: number;
  delayed: number;
  delayMs: number;
  skippedPercentage: number;
  skippedMaxActive: number;
}

const FIELDS = ["matched", "aborted", "delayed", "delayMs", "skippedPercentage", "skippedMaxActive"] as const;

export const zeroTotals = (): Totals => ({ matched: 0, aborted: 0, delayed: 0, delayMs: 0, skippedPercentage: 0, skippedMaxActive: 0 });

function totalsOf(t: FaultTotals | null | undefined): Totals {
  const out = zeroTotals();
  for (const f of FIELDS) out[f] = Number(t?.[f] ?? 0) || 0;
  return out;
}

export function addTotals(into: Totals, d: Totals): void {
  for (const f of FIELDS) into[f] += d[f];
}

const isZero = (t: Totals) => FIELDS.every((f) => t[f] === 0);

/** One label set of the ledger (what a Prometheus series and a status entry are keyed by). */
export interface FaultSeries {
  policy: string;
  rule: number;
  status: number;
  service: string;
  namespace: string;
  /** When this process first counted for it. */
  sinceUnixMs: number;
  totals: Totals;
}

/** Per-stream state: the last cumulative counts it reported (recovers a lost report) and its own sums. */
export class StreamFaults {
  readonly last = new Map<string, Totals>();
  /** policy → rule → status → counted since the stream connected. */
  readonly counted = new Map<string, Totals>();
  lastSeq = 0;
}

export interface FaultMetrics {
  injected: Counter<"policy" | "rule" | "kind" | "service" | "namespace">;
  aborts: Counter<"policy" | "rule" | "status" | "service" | "namespace">;
  delaySeconds: Counter<"policy" | "rule" | "service" | "namespace">;
  matched: Counter<"policy" | "rule" | "service" | "namespace">;
  skipped: Counter<"policy" | "rule" | "reason" | "service" | "namespace">;
  overflow: Counter;
  lostReports: Counter;
}

export function faultMetrics(registry: Registry): FaultMetrics {
  const r = [registry];
  return {
    injected: new Counter({ name: "hfi_faults_injected_total", help: "Faults injected by the filters, by policy, rule, kind (abort, delay) and workload", labelNames: ["policy", "rule", "kind", "service", "namespace"], registers: r }),
    aborts: new Counter({ name: "hfi_fault_aborts_total", help: "Aborts injected by the filters, by HTTP status", labelNames: ["policy", "rule", "status", "service", "namespace"], registers: r }),
    delaySeconds: new Counter({ name: "hfi_fault_delay_seconds_total", help: "Delay injected by the filters, in seconds", labelNames: ["policy", "rule", "service", "namespace"], registers: r }),
    matched: new Counter({ name: "hfi_fault_requests_matched_total", help: "Requests a policy rule matched", labelNames: ["policy", "rule", "service", "namespace"], registers: r }),
    skipped: new Counter({ name: "hfi_fault_requests_skipped_total", help: "Matched requests not faulted, by reason (percentage, max_active_faults)", labelNames: ["policy", "rule", "reason", "service", "namespace"], registers: r }),
    overflow: new Counter({ name: "hfi_fault_series_overflow_total", help: "Fault count reports folded into the _overflow label set (cardinality bound reached)", registers: r }),
    lostReports: new Counter({ name: "hfi_fault_reports_lost_total", help: "Gaps in a filter's fault report sequence (counts recovered from the next report where possible)", registers: r }),
  };
}

const countKey = (policy: string, rule: number, status: number) => `${policy}\u0000${rule}\u0000${status}`;

export class FaultLedger {
  readonly series = new Map<string, FaultSeries>();
  constructor(
    private readonly metrics: FaultMetrics,
    readonly maxSeries = DEFAULT_MAX_FAULT_SERIES,
  ) {}

  /** Adds one FaultReport of a stream with this identity. */
  record(identity: IdentityOut, state: StreamFaults, report: FaultReportOut): void {
    const seq = Number(report.seq) || 0;
    if (state.lastSeq && seq > state.lastSeq + 1) this.metrics.lostReports.inc(seq - state.lastSeq - 1);
    state.lastSeq = Math.max(state.lastSeq, seq);
    for (const c of report.counts ?? []) {
      const key = countKey(c.policy, c.rule, c.abortStatus);
      const total = totalsOf(c.total);
      const previous = totalsOf(c.previous);
      const known = state.last.get(key);
      // Known on this stream and behind what the filter says it sent: a report was lost; count from what we saw.
      // Ahead of it (the filter dropped and re-created its counts): the filter's own previous.
      const base = known && FIELDS.every((f) => known[f] <= previous[f]) && FIELDS.every((f) => known[f] <= total[f]) ? known : previous;
      const delta = zeroTotals();
      for (const f of FIELDS) delta[f] = Math.max(0, total[f] - base[f]);
      state.last.set(key, total);
      if (isZero(delta)) continue;
      let own = state.counted.get(key);
      if (!own) state.counted.set(key, (own = zeroTotals()));
      addTotals(own, delta);
      this.add(c.policy, c.rule, c.abortStatus, identity.service ?? "", identity.namespace ?? "", delta);
    }
  }

  private add(policy: string, rule: number, status: number, service: string, namespace: string, d: Totals): void {
    let key = `${countKey(policy, rule, status)}\u0000${service}\u0000${namespace}`;
    let s = this.series.get(key);
    if (!s && this.series.size >= this.maxSeries) {
      this.metrics.overflow.inc();
      [policy, rule, status, service, namespace] = [OVERFLOW, 0, 0, OVERFLOW, OVERFLOW];
      key = `${countKey(policy, rule, status)}\u0000${service}\u0000${namespace}`;
      s = this.series.get(key);
    }
    if (!s) this.series.set(key, (s = { policy, rule, status, service, namespace, sinceUnixMs: Date.now(), totals: zeroTotals() }));
    addTotals(s.totals, d);
    const labels = { policy, rule: String(rule), service, namespace };
    const m = this.metrics;
    if (d.aborted) {
      m.injected.inc({ ...labels, kind: "abort" }, d.aborted);
      m.aborts.inc({ ...labels, status: String(status) }, d.aborted);
    }
    if (d.delayed) m.injected.inc({ ...labels, kind: "delay" }, d.delayed);
    if (d.delayMs) m.delaySeconds.inc(labels, d.delayMs / 1000);
    if (d.matched) m.matched.inc(labels, d.matched);
    if (d.skippedPercentage) m.skipped.inc({ ...labels, reason: "percentage" }, d.skippedPercentage);
    if (d.skippedMaxActive) m.skipped.inc({ ...labels, reason: "max_active_faults" }, d.skippedMaxActive);
  }

  list(): FaultSeries[] {
    return [...this.series.values()].map((s) => ({ ...s, totals: { ...s.totals } }));
  }
}

/** Several processes' ledgers as one (workers of a replica; replicas in status). */
export function mergeSeries(parts: FaultSeries[][]): FaultSeries[] {
  const out = new Map<string, FaultSeries>();
  for (const part of parts)
    for (const s of part) {
      const key = `${countKey(s.policy, s.rule, s.status)}\u0000${s.service}\u0000${s.namespace}`;
      const e = out.get(key);
      if (!e) out.set(key, { ...s, totals: { ...s.totals } });
      else {
        addTotals(e.totals, s.totals);
        e.sinceUnixMs = Math.min(e.sinceUnixMs, s.sinceUnixMs);
      }
    }
  return [...out.values()];
}

export function splitCountKey(key: string): { policy: string; rule: number; status: number } {
  const [policy, rule, status] = key.split("\u0000");
  return { policy: policy!, rule: Number(rule), status: Number(status) };
}
