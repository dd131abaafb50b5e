// Convergence status: for each policy, which of this replica's connected
// proxies are targeted and which ACKed or NACKed a snapshot holding its
// current version.
import type { GetPolicyStatusResponseOut, PolicyStatusOut, ProxyRefOut, ProxyStatusOut } from "../proto/loader.ts";
import type { StoredPolicy } from "./store/types.ts";
import type { ConfigStreams, ConfigStream } from "./streams.ts";

export function faultTypes(p: StoredPolicy): string[] {
  const types = new Set<string>();
  for (const r of p.policy.spec?.rules ?? []) {
    const f = r.fault;
    if (f?.abort && f.abort.httpStatus + f.abort.grpcStatus > 0) types.add("abort");
    if ((f?.delay && f.delay.fixedDelayMs > 0) || (f?.delayMs ?? 0) > 0) types.add("delay");
  }
  return [...types].sort();
}

function ref(s: ConfigStream, error = ""): ProxyRefOut {
  return { identity: s.identity, error };
}

export function policyStatus(p: StoredPolicy, streams: ConfigStreams): PolicyStatusOut {
  const name = p.policy.metadata!.name;
  const acked: ProxyRefOut[] = [];
  const nacked: ProxyRefOut[] = [];
  const pending: ProxyRefOut[] = [];
  let targeted = 0;
  for (const group of streams.groups.values()) {
    if (!group.matches(p.policy)) continue;
    for (const s of group.streams) {
      targeted++;
      if (s.acked?.policies.get(name) === p.version) acked.push(ref(s));
      else if (s.nacked?.record?.policies.get(name) === p.version) nacked.push(ref(s, s.nacked.error));
      else pending.push(ref(s));
    }
  }
  const sel = p.policy.spec?.selector;
  return {
    name,
    version: p.version,
    target: { service: sel?.service ?? "", namespace: sel?.namespace ?? "", labels: { ...(sel?.labels ?? {}) } },
    ruleCount: p.policy.spec?.rules.length ?? 0,
    faultTypes: faultTypes(p),
    expiresAtUnixMs: p.policy.metadata?.expiresAtUnixMs ?? 0,
    targetedProxies: targeted,
    acked,
    nacked,
    pending,
  };
}

export function proxyStatus(s: ConfigStream): ProxyStatusOut {
  return {
    identity: s.identity,
    sentVersion: s.sent?.version ?? "",
    ackedVersion: s.acked?.version ?? "",
    nackedVersion: s.nacked?.version ?? "",
    nackError: s.nacked?.error ?? "",
    policies: [...(s.sent?.policies.keys() ?? [])],
    connectedAtUnixMs: s.connectedAtUnixMs,
  };
}

/** Status of one policy (name given) or all; proxies = every stream of this replica. */
export function statusReport(policies: StoredPolicy[], streams: ConfigStreams): GetPolicyStatusResponseOut {
  const proxies = [...streams.streams()].map(proxyStatus);
  proxies.sort((a, b) => (a.identity!.proxyId < b.identity!.proxyId ? -1 : a.identity!.proxyId > b.identity!.proxyId ? 1 : 0));
  return { policies: policies.map((p) => policyStatus(p, streams)), proxies };
}
