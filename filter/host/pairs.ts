// Envoy's header-map / map-property serialization (cpp-host exports.h
// marshalPairs): u32 count, then per pair u32 key size and u32 value size,
// then per pair key bytes + NUL and value bytes + NUL. Little-endian.

export type HeaderPair = [name: string, value: string];

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Serialize pairs the way Envoy hands them to the guest. */
export function encodePairs(pairs: readonly HeaderPair[]): Uint8Array {
  const keys = pairs.map(([k]) => enc.encode(k));
  const vals = pairs.map(([, v]) => enc.encode(v));
  let size = 4;
  for (let i = 0; i < pairs.length; i++) size += 8 + keys[i]!.length + 1 + vals[i]!.length + 1;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, pairs.length, true);
  let p = 4;
  for (let i = 0; i < pairs.length; i++) {
    dv.setUint32(p, keys[i]!.length, true);
    dv.setUint32(p + 4, vals[i]!.length, true);
    p += 8;
  }
  for (let i = 0; i < pairs.length; i++) {
    out.set(keys[i]!, p);
    p += keys[i]!.length + 1;
    out.set(vals[i]!, p);
    p += vals[i]!.length + 1;
  }
  return out;
}

/** Serialize pairs whose keys/values are already bytes (nested map properties). */
export function encodeBytePairs(pairs: readonly [Uint8Array, Uint8Array][]): Uint8Array {
  let size = 4;
  for (const [k, v] of pairs) size += 8 + k.length + v.length + 2;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, pairs.length, true);
  let p = 4;
  for (const [k, v] of pairs) {
    dv.setUint32(p, k.length, true);
    dv.setUint32(p + 4, v.length, true);
    p += 8;
  }
  for (const [k, v] of pairs) {
    out.set(k, p);
    p += k.length + 1;
    out.set(v, p);
    p += v.length + 1;
  }
  return out;
}

/**
 * Parse pairs written by the guest (proxy_set_header_map_pairs, local response
 * headers, gRPC initial metadata). Returns undefined when malformed.
 */
export function decodePairs(bytes: Uint8Array): HeaderPair[] | undefined {
  if (bytes.length === 0) return [];
  if (bytes.length < 4) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getUint32(0, true);
  if (4 + n * 8 > bytes.length) return undefined;
  const sizes: [number, number][] = [];
  let p = 4;
  for (let i = 0; i < n; i++) {
    sizes.push([dv.getUint32(p, true), dv.getUint32(p + 4, true)]);
    p += 8;
  }
  const out: HeaderPair[] = [];
  for (const [ks, vs] of sizes) {
    if (p + ks + 1 + vs + 1 > bytes.length) return undefined;
    const k = dec.decode(bytes.subarray(p, p + ks));
    p += ks + 1;
    const v = dec.decode(bytes.subarray(p, p + vs));
    p += vs + 1;
    out.push([k, v]);
  }
  return out;
}
