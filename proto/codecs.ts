// The PolicyService messages' static codecs (proto/gen/codecs.ts, written by
// scripts/codegen.sh from protobufjs's own code generator), typed. What the
// typed client sends and receives is exactly what proto-loader's
// (de)serializers make: fromObject + encode, decode + toObject with
// CONVERSION_OPTIONS.
import { $, METHODS } from "./gen/codecs.ts";
import { CONVERSION_OPTIONS } from "./conversion.ts";

interface StaticType {
  name: string;
  encode(message: object): { finish(): Uint8Array };
  decode(bytes: Uint8Array): object;
  fromObject(value: object): object;
  toObject(message: object, options: object): object;
}

export interface MethodInfo {
  /** "/hfi.v1.PolicyService/ListPolicies" */
  path: string;
  requestType: string;
  responseType: string;
  responseStream: boolean;
}

export type PolicyServiceMethod = keyof typeof METHODS;

export function methodInfo(name: PolicyServiceMethod): MethodInfo {
  return (METHODS as Record<string, MethodInfo>)[name]!;
}

function staticType(fullName: string): StaticType {
  const t = ($ as Record<string, StaticType | undefined>)[fullName];
  if (!t?.encode) throw new Error(`no codec for ${fullName}`);
  return t;
}

/** A request object (lowerCamel keys) as protobuf bytes. */
export function serialize(fullName: string, value: object): Buffer {
  const t = staticType(fullName);
  if (Array.isArray(value)) throw new Error(`cannot serialize an array as ${t.name.split(".").pop()}`);
  return Buffer.from(t.encode(t.fromObject(value)).finish());
}

/** Protobuf bytes as the API's plain object. */
export function deserialize<T>(fullName: string, bytes: Uint8Array): T {
  const t = staticType(fullName);
  return t.toObject(t.decode(bytes), CONVERSION_OPTIONS) as T;
}
