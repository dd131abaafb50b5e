// Header lists as the host passes them around: lower-case [name, value]
// pairs in order (repeats allowed), converted from/to the shapes callers use.
import type { HeaderPair } from "./pairs.ts";

export type HeadersInit = Record<string, string | string[]> | readonly HeaderPair[];

/** The first value of a header (Envoy's header map get()). */
export function getHeader(h: readonly HeaderPair[], name: string): string | undefined {
  for (const [k, v] of h) if (k === name) return v;
  return undefined;
}

export function toPairs(h: HeadersInit | undefined): HeaderPair[] {
  if (!h) return [];
  if (Array.isArray(h)) return (h as readonly HeaderPair[]).map(([k, v]) => [k.toLowerCase(), v]);
  const out: HeaderPair[] = [];
  for (const [k, v] of Object.entries(h as Record<string, string | string[]>)) {
    for (const one of Array.isArray(v) ? v : [v]) out.push([k.toLowerCase(), one]);
  }
  return out;
}

/** Repeated headers joined by "," (as they would be on the wire). */
export function pairsToRecord(h: readonly HeaderPair[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of h) out[k] = k in out ? `${out[k]},${v}` : v;
  return out;
}
