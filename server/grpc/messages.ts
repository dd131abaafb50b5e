// Decoded gRPC messages as plain objects: proto-loader fills every default
// (and a `kind` marker per oneof); the policy parser and the snapshot encoder
// want only the fields that were set.

const ONEOF_MEMBERS = ["exact", "prefix", "regex", "present"];
/** Map fields: copied as they are (an empty label value is meaningful). */
const MAP_FIELDS = new Set(["labels"]);
/** Output-only metadata: the server stamps these; input values are ignored. */
const OUTPUT_ONLY = new Set(["version", "createdAtUnixMs", "updatedAtUnixMs", "expiresAtUnixMs"]);

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v as object).length === 0;
  return false;
}

/**
 * Proto3 "not set" fields dropped, oneofs reduced to the member that was set
 * (a set `present: false` is kept: it means "must be absent").
 */
export function pruneMessage(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneMessage);
  if (v === null || typeof v !== "object" || Buffer.isBuffer(v)) return v;
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  let oneof: string | undefined;
  if (typeof src.kind === "string" && ONEOF_MEMBERS.includes(src.kind)) oneof = src.kind;
  else if (ONEOF_MEMBERS.some((m) => m in src)) {
    oneof = ONEOF_MEMBERS.find((m) => typeof src[m] === "string" && src[m] !== "");
    if (!oneof && typeof src.present === "boolean") oneof = "present";
  }
  for (const [k, val] of Object.entries(src)) {
    if (k === "kind" && typeof val === "string") continue;
    if (ONEOF_MEMBERS.includes(k) && oneof !== undefined) {
      if (k === oneof && val !== undefined && val !== null) out[k] = val;
      continue;
    }
    if (MAP_FIELDS.has(k) && val && typeof val === "object") {
      if (Object.keys(val).length) out[k] = { ...(val as object) };
      continue;
    }
    const p = pruneMessage(val);
    if (!isEmpty(p)) out[k] = p;
  }
  return out;
}

/** A gRPC ApplyPolicyRequest.policy as the plain object the policy parser takes. */
export function grpcPolicyInput(policy: unknown): unknown {
  const p = (pruneMessage(policy) ?? {}) as Record<string, unknown>;
  const md = p.metadata as Record<string, unknown> | undefined;
  if (md) for (const k of OUTPUT_ONLY) delete md[k];
  return p;
}

