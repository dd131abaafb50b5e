// Canonical JSON form of a policy (storage value, REST output): proto3 JSON
// with lowerCamelCase names and default values omitted. 64-bit integers are
// written as JSON numbers (all HFI values are far below 2^53; proto3 JSON
// parsers accept numbers for int64), and set oneof members are always kept
// (e.g. `present: false`).
import protobuf from "protobufjs/light.js";
import type { PolicyOut } from "../proto/loader.ts";
import { LIMITS } from "./limits.ts";
import { lowerCamel, schemaType } from "./schema.ts";

function isDefault(v: unknown): boolean {
  if (v === null || v === undefined || v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v as object).length === 0;
  return false;
}

function messageToJson(type: protobuf.Type, msg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) {
    const k = lowerCamel(f.name);
    const v = msg[k];
    if (f.partOf) {
      // Oneof member: kept whenever it is the one set, even with a default value.
      if (v === undefined || v === null) continue;
      const kind = msg[f.partOf.name];
      if (kind !== undefined && kind !== k) continue;
    } else if (isDefault(v)) continue;
    const sub = f.resolvedType instanceof protobuf.Type ? f.resolvedType : undefined;
    if (f.map) out[k] = { ...(v as Record<string, unknown>) };
    else if (f.repeated)
      out[k] = (v as unknown[]).map((e) => (sub ? messageToJson(sub, e as Record<string, unknown>) : e));
    else out[k] = sub ? messageToJson(sub, v as Record<string, unknown>) : v;
  }
  return out;
}

/** Any hfi.v1 message (e.g. "ApplyPolicyResponse") as proto3 JSON (lowerCamelCase, defaults omitted). */
export function messageToProtoJson(typeName: string, msg: unknown): Record<string, unknown> {
  return messageToJson(schemaType(typeName), (msg ?? {}) as Record<string, unknown>);
}

/** proto3 JSON object (lowerCamelCase, defaults omitted). */
export function policyToJson(policy: PolicyOut): Record<string, unknown> {
  return messageToJson(schemaType("Policy"), policy as unknown as Record<string, unknown>);
}

/** Size in bytes of the stored (canonical JSON) form. */
export function encodedSize(policy: PolicyOut): number {
  return Buffer.byteLength(JSON.stringify(policyToJson(policy)), "utf8");
}

export const MAX_ENCODED_POLICY_BYTES = LIMITS.maxEncodedPolicyBytes;

/**
 * Seconds after which the whole policy is over: the longest rule duration,
 * when every rule has one; undefined when some rule runs until deleted.
 */
export function policyExpiry(policy: PolicyOut): number | undefined {
  const rules = policy.spec?.rules ?? [];
  if (rules.length === 0) return undefined;
  let max = 0;
  for (const r of rules) {
    const d = r.fault?.durationSeconds ?? 0;
    if (d <= 0) return undefined;
    max = Math.max(max, d);
  }
  return max;
}
