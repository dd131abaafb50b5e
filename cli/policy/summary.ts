// Short human-readable phrases for tables, describe and watch lines.
import type {
  PolicyOut,
  SelectorOut,
  RuleOut,
  RequestMatchOut,
  StringMatchOut,
  HeaderMatchOut,
  QueryParamMatchOut,
  IdentityOut,
  DestinationOut,
} from "../../proto/types.ts";
// Not through policy/model.ts: that loads the schema reflection, which no phrase needs.
import { faultText } from "../../policy/fault-kinds.ts";
import { grpcMatchText } from "../../policy/grpc-match.ts";
import { sourceMatchText } from "../../policy/source-match.ts";

const any = (v: string | undefined): boolean => !v || v === "*";

/** "service=frontend namespace=demo app=web" or "*" (every workload). */
export function selectorText(s: SelectorOut | null | undefined): string {
  if (!s) return "*";
  const parts: string[] = [];
  if (!any(s.service)) parts.push(`service=${s.service}`);
  if (!any(s.namespace)) parts.push(`namespace=${s.namespace}`);
  for (const [k, v] of Object.entries(s.labels ?? {}).sort()) parts.push(`${k}=${v}`);
  return parts.length ? parts.join(" ") : "*";
}

/** "frontend.demo" style short target for narrow tables. */
export function targetText(s: SelectorOut | null | undefined): string {
  if (!s) return "*";
  const svc = any(s.service) ? "*" : s.service;
  const ns = any(s.namespace) ? "*" : s.namespace;
  const labels = Object.entries(s.labels ?? {})
    .sort()
    .map(([k, v]) => `${k}=${v}`);
  const base = svc === "*" && ns === "*" ? "*" : `${svc}.${ns}`;
  return labels.length ? `${base} {${labels.join(",")}}` : base;
}

function stringMatchText(m: StringMatchOut | HeaderMatchOut | QueryParamMatchOut): string {
  switch (m.kind) {
    case "exact":
      return `=${JSON.stringify(m.exact)}`;
    case "prefix":
      return ` prefix ${JSON.stringify(m.prefix)}`;
    case "regex":
      return ` ~ /${m.regex}/`;
    case "present":
      return (m as HeaderMatchOut).present ? " present" : " absent";
    default:
      return " (any)";
  }
}

/** "in" or "out": the traffic a policy acts on, or a filter instance sees (empty = inbound). */
export function directionText(d: string | null | undefined): string {
  return d === "outbound" ? "out" : "in";
}

/** "service productcatalog.demo port 8080", "host api.example.com". */
function destinationText(d: DestinationOut): string {
  const who = d.host ? `host ${d.host}` : `service ${d.service}${d.namespace ? `.${d.namespace}` : ""}`;
  return `destination ${who}${d.port ? ` port ${d.port}` : ""}`;
}

/** "method=\"GET\", path prefix \"/api\", header x-user=\"test\"" or "every request". */
export function matchText(m: RequestMatchOut | null | undefined): string {
  if (!m) return "every request";
  const parts: string[] = [];
  if (m.method?.kind) parts.push(`method${stringMatchText(m.method)}`);
  if (m.path?.kind) parts.push(`path${stringMatchText(m.path)}`);
  if (m.grpc) parts.push(grpcMatchText(m.grpc));
  if (m.source) parts.push(sourceMatchText(m.source));
  for (const h of m.headers ?? []) parts.push(`header ${h.name}${stringMatchText(h)}`);
  for (const q of m.queryParams ?? []) parts.push(`query ${q.name}${stringMatchText(q)}`);
  if (m.destination) parts.push(destinationText(m.destination));
  return parts.length ? parts.join(", ") : "every request";
}

// Fault phrases come from the policy core's fault-kind table.
export { faultText, fmtPct } from "../../policy/fault-kinds.ts";

/** Faults of every rule, joined: what the list table shows. */
export function policyFaults(p: PolicyOut): string {
  const rules = p.spec?.rules ?? [];
  return rules.map((r: RuleOut) => faultText(r.fault)).join("; ") || "none";
}

/** "4m59s", "2h3m", "12s". */
export function fmtDuration(ms: number): string {
  let s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d) return `${d}d${h}h`;
  if (h) return `${h}h${m}m`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

/** Countdown to a policy's expiry: "in 4m59s", "expired", "never". */
export function expiresText(expiresAtMs: number, now = Date.now()): string {
  if (!expiresAtMs) return "never";
  const left = expiresAtMs - now;
  return left > 0 ? `in ${fmtDuration(left)}` : "expired";
}

/** Age since a timestamp: "5m3s". */
export function ageText(atMs: number, now = Date.now()): string {
  return atMs ? fmtDuration(now - atMs) : "-";
}

export function isoTime(ms: number): string {
  return ms ? new Date(ms).toISOString() : "-";
}

/** "proxy-1 (frontend.demo)". */
export function identityText(id: IdentityOut | null | undefined): string {
  if (!id) return "?";
  const who = id.service ? `${id.service}.${id.namespace || "?"}` : id.namespace ? `?.${id.namespace}` : "unknown";
  return `${id.proxyId || id.pod || "?"} (${who})`;
}

/**
 * A short name for a proxy in tables: "pod/worker-suffix" when the proxy id
 * is an Envoy node id ending in "/suffix" (the pod is the readable part), the
 * proxy id otherwise.
 */
export function proxyLabel(id: IdentityOut | null | undefined): string {
  const proxyId = id?.proxyId ?? "";
  const slash = proxyId.lastIndexOf("/");
  if (id?.pod && slash >= 0) return `${id.pod}/${proxyId.slice(slash + 1)}`;
  return proxyId || id?.pod || "?";
}

/** "frontend.demo", "?.demo" when the service is unknown. */
export function workloadText(id: IdentityOut | null | undefined): string {
  return `${id?.service || "?"}.${id?.namespace || "?"}`;
}
