// The old control plane's policy structs (kalahetun/Minesweeper,
// executor/control-plane/storage/types.go, with DelayAction as changed by
// specs/010-fix-wasm-delay-bug: fixed_delay_ms uint64), as data: field
// names, Go kinds and omitempty flags, in declaration order. One schema
// drives both directions: decoding a request body the way encoding/json
// does (unknown fields ignored, case-insensitive names, type errors with
// Go's message) and marshalling a response (zero values kept unless
// omitempty, nil pointers/slices as Go writes them).

export type GoType =
  | { kind: "string" }
  | { kind: "int" | "int64" | "uint64" }
  | { kind: "struct"; name: string; fields: GoField[] }
  | { kind: "ptr"; elem: GoType }
  | { kind: "slice"; elem: GoType };

export interface GoField {
  json: string;
  type: GoType;
  omitempty?: boolean;
}

const str: GoType = { kind: "string" };
const int: GoType = { kind: "int" };
const uint64: GoType = { kind: "uint64" };
const struct = (name: string, fields: GoField[]): GoType => ({ kind: "struct", name, fields });
const ptr = (elem: GoType): GoType => ({ kind: "ptr", elem });
const slice = (elem: GoType): GoType => ({ kind: "slice", elem });

const matcher = (name: string) =>
  struct(name, [
    { json: "exact", type: str, omitempty: true },
    { json: "prefix", type: str, omitempty: true },
    { json: "regex", type: str, omitempty: true },
  ]);

export const FAULT_INJECTION_POLICY: GoType = struct("FaultInjectionPolicy", [
  { json: "metadata", type: struct("Metadata", [{ json: "name", type: str }, { json: "version", type: str }]) },
  {
    json: "spec",
    type: struct("PolicySpec", [
      {
        json: "selector",
        omitempty: true,
        type: ptr(
          struct("ServiceSelector", [
            { json: "service", type: str, omitempty: true },
            { json: "namespace", type: str, omitempty: true },
          ]),
        ),
      },
      {
        json: "rules",
        type: slice(
          struct("Rule", [
            {
              json: "match",
              type: struct("MatchCondition", [
                { json: "method", type: ptr(matcher("StringMatcher")), omitempty: true },
                { json: "path", type: ptr(matcher("PathMatcher")), omitempty: true },
                {
                  json: "headers",
                  omitempty: true,
                  type: slice(
                    struct("HeaderMatcher", [
                      { json: "name", type: str },
                      { json: "exact", type: str, omitempty: true },
                      { json: "prefix", type: str, omitempty: true },
                      { json: "regex", type: str, omitempty: true },
                    ]),
                  ),
                },
              ]),
            },
            {
              json: "fault",
              type: struct("FaultAction", [
                { json: "percentage", type: int },
                { json: "start_delay_ms", type: int, omitempty: true },
                { json: "duration_seconds", type: int, omitempty: true },
                { json: "delay", type: ptr(struct("DelayAction", [{ json: "fixed_delay_ms", type: uint64 }])), omitempty: true },
                { json: "abort", type: ptr(struct("AbortAction", [{ json: "httpStatus", type: int }])), omitempty: true },
              ]),
            },
          ]),
        ),
      },
    ]),
  },
]);

// The decoded value: Go's zero values filled in, nil pointers and slices as null.
export interface LegacyMatcher {
  exact: string;
  prefix: string;
  regex: string;
}
export interface LegacyHeader extends LegacyMatcher {
  name: string;
}
export interface LegacyFault {
  percentage: number;
  start_delay_ms: number;
  duration_seconds: number;
  delay: { fixed_delay_ms: number } | null;
  abort: { httpStatus: number } | null;
}
export interface LegacyRule {
  match: { method: LegacyMatcher | null; path: LegacyMatcher | null; headers: LegacyHeader[] | null };
  fault: LegacyFault;
}
export interface LegacyPolicy {
  metadata: { name: string; version: string };
  spec: { selector: { service: string; namespace: string } | null; rules: LegacyRule[] | null };
}

function isEmptyValue(t: GoType, v: unknown): boolean {
  switch (t.kind) {
    case "string":
      return v === "";
    case "int":
    case "int64":
    case "uint64":
      return v === 0;
    case "ptr":
      return v === null || v === undefined;
    case "slice":
      return v === null || v === undefined || (v as unknown[]).length === 0;
    case "struct":
      return false; // encoding/json never omits a struct value
  }
}

/** json.Marshal of a value of Go type `t` (as a JSON-ready object, keys in field order). */
export function marshalGo(t: GoType, v: unknown): unknown {
  switch (t.kind) {
    case "string":
      return v ?? "";
    case "int":
    case "int64":
    case "uint64":
      return v ?? 0;
    case "ptr":
      return v === null || v === undefined ? null : marshalGo(t.elem, v);
    case "slice":
      return v === null || v === undefined ? null : (v as unknown[]).map((e) => marshalGo(t.elem, e));
    case "struct": {
      const src = (v ?? {}) as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of t.fields) {
        if (f.omitempty && isEmptyValue(f.type, src[f.json])) continue;
        out[f.json] = marshalGo(f.type, src[f.json]);
      }
      return out;
    }
  }
}

export const marshalPolicy = (p: LegacyPolicy): unknown => marshalGo(FAULT_INJECTION_POLICY, p);
