// Between the old policy structs and HFI's model. Old → HFI is lossless (the
// old model is a subset). HFI → old keeps what the old structs can carry;
// `widening()` names what would make an old plugin fault more traffic than
// the policy says (those policies are left out of the old list), the rest
// (priority, abort body/headers/grpc_status, labels, fractional
// percentages) degrades without widening.
import type { PolicyOut, StringMatchOut } from "../../../proto/types.ts";
import type { LegacyMatcher, LegacyPolicy, LegacyRule } from "./go-structs.ts";

function matcherIn(m: LegacyMatcher | null): Record<string, string> | undefined {
  if (!m) return undefined;
  const out: Record<string, string> = {};
  if (m.exact !== "") out.exact = m.exact;
  if (m.prefix !== "") out.prefix = m.prefix;
  if (m.regex !== "") out.regex = m.regex;
  return Object.keys(out).length ? out : undefined;
}

/** The policy object HFI's parser takes (snake_case proto3 JSON). */
export function toHfiInput(p: LegacyPolicy): Record<string, unknown> {
  const rules = (p.spec.rules ?? []).map((r) => {
    const match: Record<string, unknown> = {};
    const method = matcherIn(r.match.method);
    const path = matcherIn(r.match.path);
    if (method) match.method = method;
    if (path) match.path = path;
    if (r.match.headers?.length) {
      // A header with only a name: the old plugin checks presence.
      match.headers = r.match.headers.map((h) => ({ name: h.name, ...(matcherIn(h) ?? { present: true }) }));
    }
    const fault: Record<string, unknown> = { percentage: r.fault.percentage };
    if (r.fault.start_delay_ms) fault.start_delay_ms = r.fault.start_delay_ms;
    if (r.fault.duration_seconds) fault.duration_seconds = r.fault.duration_seconds;
    if (r.fault.delay) fault.delay = { fixed_delay_ms: r.fault.delay.fixed_delay_ms };
    if (r.fault.abort) fault.abort = { http_status: r.fault.abort.httpStatus };
    return { match, fault };
  });
  const spec: Record<string, unknown> = { rules };
  if (p.spec.selector) spec.selector = { service: p.spec.selector.service, namespace: p.spec.selector.namespace };
  const metadata: Record<string, unknown> = { name: p.metadata.name };
  if (p.metadata.version !== "") metadata.version_label = p.metadata.version;
  return { metadata, spec };
}

function matcherOut(m: StringMatchOut | null | undefined): LegacyMatcher | null {
  if (!m?.kind) return null;
  return { exact: m.exact ?? "", prefix: m.prefix ?? "", regex: m.regex ?? "", [m.kind]: m[m.kind] ?? "" } as LegacyMatcher;
}

/** HFI policy → the old struct (Go zero values where the old model has nothing). */
export function fromHfi(p: PolicyOut): LegacyPolicy {
  const sel = p.spec?.selector;
  const rules: LegacyRule[] = (p.spec?.rules ?? []).map((r) => {
    const f = r.fault;
    const headers = (r.match?.headers ?? [])
      .filter((h) => h.kind !== "present" || h.present)
      .map((h) => ({ name: h.name, exact: h.exact ?? "", prefix: h.prefix ?? "", regex: h.regex ?? "" }));
    return {
      match: { method: matcherOut(r.match?.method), path: matcherOut(r.match?.path), headers: headers.length ? headers : null },
      fault: {
        // Go int / Rust u32: no fractions.
        percentage: Math.round(f?.percentage ?? 0),
        start_delay_ms: f?.startDelayMs ?? 0,
        duration_seconds: f?.durationSeconds ?? 0,
        delay: f?.delay ? { fixed_delay_ms: f.delay.fixedDelayMs } : null,
        abort: f?.abort ? { httpStatus: f.abort.httpStatus } : null,
      },
    };
  });
  return {
    metadata: { name: p.metadata?.name ?? "", version: p.metadata?.versionLabel ?? "" },
    spec: {
      selector: sel && (sel.service !== "" || sel.namespace !== "") ? { service: sel.service, namespace: sel.namespace } : null,
      rules,
    },
  };
}

/** Conditions the old structs cannot carry and whose loss would widen what the policy faults. */
export function widening(p: PolicyOut): string[] {
  const out: string[] = [];
  if (Object.keys(p.spec?.selector?.labels ?? {}).length) out.push("spec.selector.labels");
  for (const [i, r] of (p.spec?.rules ?? []).entries()) {
    if (r.match?.queryParams?.length) out.push(`spec.rules[${i}].match.query_params`);
    if (r.match?.headers?.some((h) => h.kind === "present" && !h.present)) out.push(`spec.rules[${i}].match.headers (present: false)`);
  }
  return out;
}
