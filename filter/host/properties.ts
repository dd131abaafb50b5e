// proxy_get_property: the path is NUL-separated tokens (Envoy splits only on
// '\0'; "node.metadata.X" as one token is not found, as in Envoy). Values are
// serialized as Envoy's serializeValue does: strings/bytes raw, integers as
// 8-byte little-endian int64, doubles as 8-byte double, bools as one byte,
// maps (Struct / header maps) in the pairs format with values serialized
// recursively, lists as pairs of (element, empty).
import { encodeBytePairs } from "./pairs.ts";

/** A property value as the host models it (JSON-like, plus bytes and bigint). */
export type PropertyValue =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | null
  | undefined
  | PropertyValue[]
  | { [key: string]: PropertyValue };

const enc = new TextEncoder();

export function serializeProperty(v: PropertyValue): Uint8Array | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return enc.encode(v);
  if (v instanceof Uint8Array) return v;
  if (typeof v === "boolean") return Uint8Array.of(v ? 1 : 0);
  if (typeof v === "bigint") {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigInt64(0, v, true);
    return out;
  }
  if (typeof v === "number") {
    // Struct numbers are doubles in Envoy (google.protobuf.Value number_value).
    const out = new Uint8Array(8);
    new DataView(out.buffer).setFloat64(0, v, true);
    return out;
  }
  if (Array.isArray(v)) {
    // Envoy (serializeValue, CEL list): pairs whose keys are the serialized
    // elements and whose values are empty.
    const items: [Uint8Array, Uint8Array][] = [];
    for (const el of v) {
      const e = serializeProperty(el);
      if (e === undefined) return undefined;
      items.push([e, new Uint8Array(0)]);
    }
    return encodeBytePairs(items);
  }
  const pairs: [Uint8Array, Uint8Array][] = [];
  for (const [k, val] of Object.entries(v)) {
    const s = serializeProperty(val);
    if (s === undefined) return undefined;
    pairs.push([enc.encode(k), s]);
  }
  return encodeBytePairs(pairs);
}

/** Walk an object along path tokens. */
export function lookupPath(root: PropertyValue, tokens: readonly string[]): PropertyValue {
  let cur: PropertyValue = root;
  for (const t of tokens) {
    if (cur === null || cur === undefined || typeof cur !== "object" || cur instanceof Uint8Array) {
      return undefined;
    }
    if (Array.isArray(cur)) {
      const i = Number(t);
      cur = Number.isInteger(i) ? cur[i] : undefined;
    } else {
      cur = Object.prototype.hasOwnProperty.call(cur, t) ? cur[t] : undefined;
    }
  }
  return cur;
}

export function splitPath(bytes: Uint8Array): string[] {
  const s = new TextDecoder().decode(bytes);
  // A trailing NUL (C strings) yields an empty last token; drop it.
  const parts = s.split("\0");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}
