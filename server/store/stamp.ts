// Shared by both stores: turning a validated policy into the stored form
// (metadata stamped) and a stored JSON value back into a StoredPolicy.
import type { PolicyOut } from "../../proto/loader.ts";
import { isPlainObject, parsePolicyInput, policyToJson } from "../../policy/index.ts";
import type { StoredPolicy } from "./types.ts";

export interface Stamp {
  version: number;
  createdAtUnixMs: number;
  updatedAtUnixMs: number;
  expiresAtUnixMs: number;
}

/** A deep copy of `policy` with the store's metadata. */
export function stampPolicy(policy: PolicyOut, s: Stamp): StoredPolicy {
  const p = structuredClone(policy);
  p.metadata = {
    name: p.metadata?.name ?? "",
    labels: p.metadata?.labels ?? {},
    version: s.version,
    createdAtUnixMs: s.createdAtUnixMs,
    updatedAtUnixMs: s.updatedAtUnixMs,
    expiresAtUnixMs: s.expiresAtUnixMs,
    versionLabel: p.metadata?.versionLabel ?? "",
  };
  return { policy: p, version: s.version };
}

/**
 * The stored value: canonical JSON without metadata.version (the version is
 * the store's revision of the write, known only after it).
 */
export function storedValue(p: StoredPolicy | PolicyOut): Record<string, unknown> {
  const policy = "policy" in p ? p.policy : p;
  const json = policyToJson(policy);
  const md = json.metadata as Record<string, unknown> | undefined;
  if (md) delete md.version;
  return json;
}

function int(v: unknown): number {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === "string" && /^\d+$/.test(v)) return Number(v);
  return 0;
}

/**
 * Parses a stored value (possibly written by another tool) for key `name`.
 * Output-only metadata (times) is taken from the value; the version is the
 * store's revision of the write.
 */
export function parseStoredValue(
  name: string,
  text: string | Record<string, unknown>,
  version: number,
): { ok: true; stored: StoredPolicy } | { ok: false; error: string } {
  let raw: unknown;
  if (typeof text === "string") {
    try {
      raw = JSON.parse(text);
    } catch (e) {
      return { ok: false, error: `not JSON: ${(e as Error).message}` };
    }
  } else raw = text;
  const r = parsePolicyInput(raw);
  if (!r.ok) return { ok: false, error: r.errors.map((e) => `${e.path}: ${e.reason}`).join("; ") };
  if (r.policy.metadata!.name !== name)
    return { ok: false, error: `metadata.name: "${r.policy.metadata!.name}" does not match the key name "${name}"` };
  const md = isPlainObject(raw) && isPlainObject(raw.metadata) ? raw.metadata : {};
  const pick = (snake: string, camel: string) => int(md[camel] ?? md[snake]);
  return {
    ok: true,
    stored: stampPolicy(r.policy, {
      version,
      createdAtUnixMs: pick("created_at_unix_ms", "createdAtUnixMs"),
      updatedAtUnixMs: pick("updated_at_unix_ms", "updatedAtUnixMs"),
      expiresAtUnixMs: pick("expires_at_unix_ms", "expiresAtUnixMs"),
    }),
  };
}

export function cloneStored(s: StoredPolicy): StoredPolicy {
  return { policy: structuredClone(s.policy), version: s.version };
}

/** Serialised execution of async operations (one writer at a time). */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
  /** Resolves once everything queued so far has finished. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}
