// Per-policy fault counts in GetPolicyStatus: per rule and workload from the
// ledgers of every process of every replica, then per proxy of this replica
// (from the status tally, the first proxy_limit of them).
import type { FaultCountStatusOut, FaultTotalsOut } from "../../proto/loader.ts";
import { addTotals, zeroTotals, type FaultSeries, type Totals } from "./ledger.ts";

/** Entries per policy at most (per-service first, then per proxy). */
export const MAX_STATUS_FAULT_ENTRIES = 200;

const totalsMessage = (t: Totals): FaultTotalsOut => ({ ...t });

export function policyFaults(
  name: string,
  series: FaultSeries[],
  perProxy: FaultCountStatusOut[],
): { faultsTotal: FaultTotalsOut; faults: FaultCountStatusOut[] } {
  const total = zeroTotals();
  const out: FaultCountStatusOut[] = [];
  const mine = series.filter((s) => s.policy === name).sort((a, b) => a.service.localeCompare(b.service) || a.namespace.localeCompare(b.namespace) || a.rule - b.rule);
  for (const s of mine) {
    addTotals(total, s.totals);
    out.push({ service: s.service, namespace: s.namespace, proxyId: "", rule: s.rule, abortStatus: s.status, totals: totalsMessage(s.totals), sinceUnixMs: s.sinceUnixMs });
  }
  out.push(...perProxy);
  return { faultsTotal: totalsMessage(total), faults: out.slice(0, MAX_STATUS_FAULT_ENTRIES) };
}
