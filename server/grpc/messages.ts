// Decoded gRPC messages as plain objects: proto-loader fills every default
// (and a `kind` marker per oneof); the policy parser and the snapshot encoder
// want only the fields that were set (policy/fields.ts, from the descriptors).
import { messageType, OUTPUT_ONLY_METADATA, setFields } from "../../policy/index.ts";

/** A gRPC ApplyPolicyRequest.policy as the plain object the policy parser takes. */
export function grpcPolicyInput(policy: unknown): unknown {
  const p = setFields(messageType("Policy"), policy);
  const md = p.metadata as Record<string, unknown> | undefined;
  if (md) for (const k of OUTPUT_ONLY_METADATA) delete md[k];
  return p;
}
