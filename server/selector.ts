// Which policies apply to which proxy identity (selector semantics: README.md, "Config stream").
import type { IdentityOut, SelectorOut, PolicyOut } from "../proto/loader.ts";

const isAny = (v: string | undefined): boolean => !v || v === "*";

/**
 * selector.service / namespace empty or "*" = any; every selector label must
 * be on the identity with the same value. An identity with no service
 * (unknown workload) only gets policies that target every service, any or its
 * namespace, and no labels.
 */
export function selectorMatches(sel: SelectorOut | null | undefined, id: IdentityOut): boolean {
  const service = sel?.service ?? "";
  const namespace = sel?.namespace ?? "";
  const labels = sel?.labels ?? {};
  if (!isAny(service) && service !== id.service) return false;
  if (!isAny(namespace) && namespace !== id.namespace) return false;
  const entries = Object.entries(labels);
  if (!id.service && entries.length > 0) return false;
  const have = id.labels ?? {};
  for (const [k, v] of entries) if (have[k] !== v) return false;
  return true;
}

export function policyMatches(policy: PolicyOut, id: IdentityOut): boolean {
  return selectorMatches(policy.spec?.selector, id);
}

export type Direction = "inbound" | "outbound";

/** A policy's direction (spec.direction; empty = inbound). */
export function policyDirection(policy: PolicyOut): Direction {
  return policy.spec?.direction === "outbound" ? "outbound" : "inbound";
}

/** The direction a filter instance runs in (older filters report none: inbound). */
export function identityDirection(id: Pick<IdentityOut, "direction"> | undefined): Direction {
  return id?.direction === "outbound" ? "outbound" : "inbound";
}

/**
 * The part of an identity selection depends on (service, namespace, labels):
 * streams with the same key get the same snapshot, so matching runs once per
 * key, not once per stream.
 */
export function identityKey(id: IdentityOut): string {
  const labels = Object.entries(id.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([id.service ?? "", id.namespace ?? "", labels]);
}

/** Evaluation order: priority descending, then name ascending. */
export function comparePolicies(a: PolicyOut, b: PolicyOut): number {
  const pa = a.spec?.priority ?? 0;
  const pb = b.spec?.priority ?? 0;
  if (pa !== pb) return pb - pa;
  const na = a.metadata?.name ?? "";
  const nb = b.metadata?.name ?? "";
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** Normalised identity (all fields present). */
export function normaliseIdentity(id: Partial<IdentityOut> | null | undefined): IdentityOut {
  return {
    service: id?.service ?? "",
    namespace: id?.namespace ?? "",
    pod: id?.pod ?? "",
    proxyId: id?.proxyId ?? "",
    labels: { ...(id?.labels ?? {}) },
    // Reported only (not part of selection); absent from older filters.
    ...(id?.version ? { version: id.version } : {}),
    ...(id?.serviceSource ? { serviceSource: id.serviceSource } : {}),
    ...(id?.versionSource ? { versionSource: id.versionSource } : {}),
    ...(id?.serviceAccount ? { serviceAccount: id.serviceAccount } : {}),
    // The traffic the filter instance sees; the snapshot carries both directions, each filter applies its own.
    ...(id?.direction ? { direction: id.direction } : {}),
  };
}
