// Per-policy fault counts in GetPolicyStatus: per rule and workload from the
// ledgers of every process of every replica, then per proxy of this replica.
import type { FaultCountStatusOut, FaultTotalsOut } from "../../proto/loader.ts";
import type { ProxyRecord } from "../store/types.ts";
import { addTotals, splitCountKey, zeroTotals, type FaultSeries, type Totals } from "./ledger.ts";

/** Entries per policy at most (per-service first, then per proxy). */
export const MAX_STATUS_FAULT_ENTRIES = 200;

const totalsMessage = (t: Totals): FaultTotalsOut => ({ ...t });

export function policyFaults(
  name: string,
  series: FaultSeries[],
  records: ProxyRecord[],
): { faultsTotal: FaultTotalsOut; faults: FaultCountStatusOut[] } {
  const total = zeroTotals();
  const out: FaultCountStatusOut[] = [];
  const mine = series.filter((s) => s.policy === name).sort((a, b) => a.service.localeCompare(b.service) || a.namespace.localeCompare(b.namespace) || a.rule - b.rule);
  for (const s of mine) {
    addTotals(total, s.totals);
    out.push({ service: s.service, namespace: s.namespace, proxyId: "", rule: s.rule, abortStatus: s.status, totals: totalsMessage(s.totals), sinceUnixMs: s.sinceUnixMs });
  }
  for (const r of records) {
    for (const [key, t] of r.faults ?? []) {
      const k = splitCountKey(key);
      if (k.policy !== name) continue;
      out.push({
        service: r.identity.service,
        namespace: r.identity.namespace,
        proxyId: r.identity.proxyId,
        rule: k.rule,
        abortStatus: k.status,
        totals: totalsMessage(t),
        sinceUnixMs: r.connectedAtUnixMs,
      });
    }
  }
  return { faultsTotal: totalsMessage(total), faults: out.slice(0, MAX_STATUS_FAULT_ENTRIES) };
}
