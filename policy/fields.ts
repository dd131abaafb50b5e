// Schema facts read from the hfi.v1 descriptors (protobufjs reflection):
// which fields are maps, lists, sub-messages or oneof members, and their
// declaration order. Everything that walks a policy generically (the
// document writer, the gRPC input pruning, the canonical JSON) asks here, so
// a new field needs no table edited by hand.
import protobuf from "protobufjs/light.js";
import { lowerCamel, schemaType } from "./schema.ts";

export interface FieldFact {
  /** The .proto name (snake_case): documents and error paths. */
  name: string;
  /** The key in decoded messages (lowerCamelCase, as proto-loader). */
  key: string;
  map: boolean;
  repeated: boolean;
  /** The message type of the field (of each element for lists, of each value for maps). */
  message?: protobuf.Type;
  /** The oneof this field belongs to: decoded messages name the set member under this key. */
  oneof?: string;
}

const cache = new WeakMap<protobuf.Type, FieldFact[]>();

/** The fields of `type` in declaration order. */
export function fieldFacts(type: protobuf.Type): readonly FieldFact[] {
  let facts = cache.get(type);
  if (!facts) {
    facts = [...type.fieldsArray]
      .sort((a, b) => declared(type, a) - declared(type, b))
      .map((f) => ({
        name: f.name,
        key: lowerCamel(f.name),
        map: f.map,
        repeated: f.repeated,
        message: f.resolvedType instanceof protobuf.Type ? f.resolvedType : undefined,
        oneof: f.partOf?.name,
      }));
    cache.set(type, facts);
  }
  return facts;
}

// The JSON descriptor lists fields in declaration order; the field number is
// the tie-breaker should a generator ever reorder them.
function declared(type: protobuf.Type, f: protobuf.Field): number {
  return Object.keys(type.fields).indexOf(f.name) * 1e6 + f.id;
}

/** A message type of hfi.v1 by its short name ("Policy", "Fault", ...). */
export function messageType(name: string): protobuf.Type {
  return schemaType(name);
}

/** Metadata fields the server stamps: ignored on input, left out of documents written for editing. */
export const OUTPUT_ONLY_METADATA = ["version", "createdAtUnixMs", "updatedAtUnixMs", "expiresAtUnixMs"] as const;

export function isDefaultValue(v: unknown): boolean {
  if (v === null || v === undefined || v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object" && !Buffer.isBuffer(v)) return Object.keys(v as object).length === 0;
  return false;
}

/**
 * The key of the set member of oneof `oneof` in a decoded message: the
 * marker proto-loader writes (`kind: "prefix"`), else — for objects built by
 * hand — the first member with a non-default value, else a member given as a
 * boolean (`present: false` is a choice too).
 */
export function chosenMember(type: protobuf.Type, msg: Record<string, unknown>, oneof: string): string | undefined {
  const members = fieldFacts(type).filter((f) => f.oneof === oneof);
  const marker = msg[oneof];
  if (typeof marker === "string" && members.some((m) => m.key === marker)) return marker;
  return (
    members.find((m) => !isDefaultValue(msg[m.key]))?.key ??
    members.find((m) => typeof msg[m.key] === "boolean")?.key
  );
}

/** How a walk of the set fields writes a message out (setFields below; the CLI's documents, cli/policy/document.ts). */
export interface SetFieldsForm {
  /** The output key of a field. */
  key(f: FieldFact): string;
  /** A map with entries, as written. */
  map(m: Record<string, unknown>): unknown;
  /** A scalar field's value as written; undefined leaves it out (defaults come here too). */
  scalar(f: FieldFact, v: unknown): unknown;
  /** Whether an empty message in a list stays (as {}) or is left out. */
  keepEmptyItems: boolean;
}

/**
 * The fields of a message that were set, in declaration order: null and
 * unset oneof members dropped, the set member kept as it is (also "" or
 * false), empty maps, lists and sub-messages dropped; the rest as `form` says.
 */
export function writeSetFields(type: protobuf.Type, value: unknown, form: SetFieldsForm): Record<string, unknown> {
  const msg = (value ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of fieldFacts(type)) {
    const v = msg[f.key];
    if (v === undefined || v === null) continue;
    if (f.oneof) {
      if (chosenMember(type, msg, f.oneof) === f.key) out[form.key(f)] = v;
      continue;
    }
    if (f.map) {
      if (Object.keys(v as object).length) out[form.key(f)] = form.map(v as Record<string, unknown>);
      continue;
    }
    const sub = f.message;
    let p: unknown;
    if (f.repeated) {
      const items = (v as unknown[]).map((e) => (sub ? writeSetFields(sub, e, form) : e));
      p = sub && !form.keepEmptyItems ? items.filter((e) => !isDefaultValue(e)) : items;
    } else p = sub ? writeSetFields(sub, v, form) : form.scalar(f, v);
    if (p !== undefined && (!(f.repeated || sub) || !isDefaultValue(p))) out[form.key(f)] = p;
  }
  return out;
}

const MESSAGE_FORM: SetFieldsForm = {
  key: (f) => f.key,
  map: (m) => ({ ...m }),
  scalar: (_f, v) => (isDefaultValue(v) ? undefined : v),
  keepEmptyItems: true,
};

/**
 * Only the fields that were set: proto3 defaults dropped (empty sub-messages
 * too), oneofs reduced to the set member (kept even when "" or false), map
 * entries copied as they are (an empty label value is meaningful).
 */
export function setFields(type: protobuf.Type, value: unknown): Record<string, unknown> {
  return writeSetFields(type, value, MESSAGE_FORM);
}
