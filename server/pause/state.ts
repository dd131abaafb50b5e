// The pause switch: which policies must not inject right now. One small
// record per store (etcd key / embedded file), read-modify-written by
// `hfi pause` / `hfi resume` and pushed to filters like any policy change:
// a paused policy stays in the snapshot with `paused: true`, so proxies keep
// ACKing it and release the requests it was holding.
import { PolicyValidationError, validateName } from "../../policy/index.ts";

export interface PauseState {
  /** Every policy, in every namespace. */
  all: boolean;
  /** Workload namespaces in which no policy injects (sorted, unique). */
  namespaces: string[];
  /** Policy names that do not inject anywhere (sorted, unique). */
  policies: string[];
  /** When the switch last changed (0 = never). */
  updatedAtUnixMs: number;
}

/** What one `pause` / `resume` call targets: exactly one of the three. */
export type PauseScope = { all: true } | { namespace: string } | { policy: string };

export interface PauseChange {
  op: "pause" | "resume";
  scope: PauseScope;
}

export const EMPTY_PAUSE: PauseState = Object.freeze({ all: false, namespaces: [], policies: [], updatedAtUnixMs: 0 }) as PauseState;

/** The scope of a request that has `all`, `namespace`, `policy` fields (gRPC / REST); throws naming the field. */
export function pauseScopeOf(req: { all?: boolean; namespace?: string; policy?: string }): PauseScope {
  const given = [req.all ? "all" : "", req.namespace ? "namespace" : "", req.policy ? "policy" : ""].filter(Boolean);
  if (given.length !== 1)
    throw new PolicyValidationError([
      { path: given.length ? given.join(", ") : "all", reason: `exactly one of all, namespace, policy must be set (got ${given.length ? given.join(" and ") : "none"})` },
    ]);
  if (req.all) return { all: true };
  const field = req.namespace ? "namespace" : "policy";
  const value = (req.namespace || req.policy)!;
  const err = validateName(value);
  if (err) throw new PolicyValidationError([{ path: field, reason: err }]);
  return field === "namespace" ? { namespace: value } : { policy: value };
}

const sortedUnique = (xs: string[]) => [...new Set(xs)].sort();

/**
 * The state after a change. `resume` of `all` clears everything (the kill
 * switch and every namespace and policy pause); resuming a namespace or
 * policy removes that entry only (a global pause stays).
 */
export function applyPauseChange(s: PauseState, c: PauseChange, now = Date.now()): PauseState {
  const next: PauseState = { all: s.all, namespaces: [...s.namespaces], policies: [...s.policies], updatedAtUnixMs: now };
  const sc = c.scope;
  if (c.op === "pause") {
    if ("all" in sc) next.all = true;
    else if ("namespace" in sc) next.namespaces.push(sc.namespace);
    else next.policies.push(sc.policy);
  } else if ("all" in sc) {
    next.all = false;
    next.namespaces = [];
    next.policies = [];
  } else if ("namespace" in sc) next.namespaces = next.namespaces.filter((n) => n !== sc.namespace);
  else next.policies = next.policies.filter((n) => n !== sc.policy);
  next.namespaces = sortedUnique(next.namespaces);
  next.policies = sortedUnique(next.policies);
  return next;
}

/** True when `policy` must not inject on a workload in `namespace`. */
export function isPaused(s: PauseState, policy: string, namespace: string): boolean {
  return s.all || s.policies.includes(policy) || (namespace !== "" && s.namespaces.includes(namespace));
}

/** True when the policy is paused everywhere it applies (all, or by name); namespace pauses are per workload. */
export function isPolicyPaused(s: PauseState, policy: string): boolean {
  return s.all || s.policies.includes(policy);
}

export function samePause(a: PauseState, b: PauseState): boolean {
  return a.all === b.all && a.namespaces.join(",") === b.namespaces.join(",") && a.policies.join(",") === b.policies.join(",");
}

/** Parses a stored record (JSON); anything malformed reads as "not paused" plus the reason. */
export function parsePauseRecord(text: string): { state: PauseState; error?: string } {
  try {
    const v = JSON.parse(text) as Partial<PauseState>;
    const strings = (x: unknown) => Array.isArray(x) && x.every((e) => typeof e === "string");
    if (typeof v !== "object" || v === null || typeof v.all !== "boolean" || !strings(v.namespaces) || !strings(v.policies))
      return { state: EMPTY_PAUSE, error: "pause record is not {all, namespaces, policies}" };
    return {
      state: {
        all: v.all,
        namespaces: sortedUnique(v.namespaces!),
        policies: sortedUnique(v.policies!),
        updatedAtUnixMs: Number(v.updatedAtUnixMs) || 0,
      },
    };
  } catch (e) {
    return { state: EMPTY_PAUSE, error: `pause record is not JSON: ${(e as Error).message}` };
  }
}

export function pauseRecord(s: PauseState): string {
  return JSON.stringify({ all: s.all, namespaces: s.namespaces, policies: s.policies, updatedAtUnixMs: s.updatedAtUnixMs });
}
