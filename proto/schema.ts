// The hfi.v1 contract as precompiled by scripts/codegen.sh (proto/gen/descriptor.ts),
// read through protobufjs reflection (light build): what the policy core, the
// server's gRPC definitions and the codec generator share. No gRPC library here:
// the CLI's read path loads this module without loading grpc-js.
import protobuf from "protobufjs/light.js";
import { HFI_V1_DESCRIPTOR_SET, HFI_V1_JSON } from "./gen/descriptor.ts";

export { CONVERSION_OPTIONS } from "./conversion.ts";

export interface JsonNamespace {
  nested?: Record<string, JsonNamespace>;
  fields?: Record<string, unknown>;
  oneofs?: Record<string, { oneof: string[] }>;
}

/** The protobufjs JSON descriptor with the .proto field names. */
export function schemaJson(): JsonNamespace {
  return HFI_V1_JSON as JsonNamespace;
}

export function rootOf(ns: JsonNamespace): protobuf.Root {
  const root = protobuf.Root.fromJSON(ns as protobuf.INamespace);
  root.resolveAll();
  return root;
}

let schema: protobuf.Root | undefined;
/** hfi.v1 as a protobufjs Root with the original snake_case field names. */
export function schemaRoot(): protobuf.Root {
  schema ??= rootOf(schemaJson());
  return schema;
}

/** Each FileDescriptorProto, encoded (what gRPC reflection serves). */
export function fileDescriptorProtos(): Buffer[] {
  const reader = protobuf.Reader.create(Buffer.from(HFI_V1_DESCRIPTOR_SET, "base64"));
  const out: Buffer[] = [];
  // FileDescriptorSet { repeated FileDescriptorProto file = 1; }
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) out.push(Buffer.from(reader.bytes()));
    else reader.skipType(tag & 7);
  }
  return out;
}

// The API uses lowerCamel field names (as proto-loader with keepCase: false).
const lowerCamel = (s: string) => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
/** The descriptor with the API's lowerCamel field names (what goes over gRPC). */
export function camelCased(ns: JsonNamespace): JsonNamespace {
  const out: JsonNamespace = { ...ns };
  if (ns.fields) out.fields = Object.fromEntries(Object.entries(ns.fields).map(([k, v]) => [lowerCamel(k), v]));
  if (ns.oneofs)
    out.oneofs = Object.fromEntries(Object.entries(ns.oneofs).map(([k, v]) => [k, { ...v, oneof: v.oneof.map(lowerCamel) }]));
  if (ns.nested) out.nested = Object.fromEntries(Object.entries(ns.nested).map(([k, v]) => [k, camelCased(v)]));
  return out;
}
