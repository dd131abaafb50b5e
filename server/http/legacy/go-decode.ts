// Request bodies decoded as gin's ShouldBindJSON (encoding/json) decodes
// them into the old structs: unknown fields are ignored, names match
// case-insensitively (an exact match wins), null leaves the zero value, and
// the first type mismatch is reported with Go's wording, e.g.
// `json: cannot unmarshal string into Go struct field FaultAction.spec.rules.fault.percentage of type int`.
import { FAULT_INJECTION_POLICY, type GoType, type LegacyPolicy } from "./go-structs.ts";

export class GoDecodeError extends Error {}

/** Go's reflect type name, as in the error messages (package "storage"). */
function typeName(t: GoType): string {
  switch (t.kind) {
    case "struct":
      return `storage.${t.name}`;
    case "ptr":
      return `*${typeName(t.elem)}`;
    case "slice":
      return `[]${typeName(t.elem)}`;
    default:
      return t.kind;
  }
}

function jsonKind(v: unknown, literal?: string): string {
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return literal ? `number ${literal}` : "number";
  return Array.isArray(v) ? "array" : "object";
}

const INT_LIMITS: Record<string, [bigint, bigint]> = {
  int: [-(2n ** 63n), 2n ** 63n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

interface Where {
  struct?: string;
  path: string[];
}

class Decoder {
  firstError: string | undefined;

  private typeError(v: unknown, t: GoType, at: Where, literal?: string): void {
    if (this.firstError) return;
    const target = at.struct ? `Go struct field ${at.struct}.${at.path.join(".")}` : "Go value";
    this.firstError = `json: cannot unmarshal ${jsonKind(v, literal)} into ${target} of type ${typeName(t)}`;
  }

  decode(t: GoType, v: unknown, at: Where): unknown {
    if (v === null) return zero(t);
    switch (t.kind) {
      case "string":
        if (typeof v === "string") return v;
        this.typeError(v, t, at);
        return "";
      case "int":
      case "int64":
      case "uint64": {
        if (typeof v !== "number") {
          this.typeError(v, t, at);
          return 0;
        }
        const [lo, hi] = INT_LIMITS[t.kind]!;
        if (!Number.isInteger(v) || BigInt(v) < lo || BigInt(v) > hi) {
          this.typeError(v, t, at, String(v));
          return 0;
        }
        return v;
      }
      case "ptr":
        return this.decode(t.elem, v, at);
      case "slice":
        if (!Array.isArray(v)) {
          this.typeError(v, t, at);
          return null;
        }
        return v.map((e) => this.decode(t.elem, e, at));
      case "struct": {
        if (typeof v !== "object" || Array.isArray(v)) {
          this.typeError(v, t, at);
          return zero(t);
        }
        const out = zero(t) as Record<string, unknown>;
        for (const [key, raw] of Object.entries(v as Record<string, unknown>)) {
          const field = t.fields.find((f) => f.json === key) ?? t.fields.find((f) => f.json.toLowerCase() === key.toLowerCase());
          if (!field) continue; // encoding/json ignores unknown fields
          out[field.json] = this.decode(field.type, raw, { struct: t.name, path: [...at.path, field.json] });
        }
        return out;
      }
    }
  }
}

function zero(t: GoType): unknown {
  switch (t.kind) {
    case "string":
      return "";
    case "int":
    case "int64":
    case "uint64":
      return 0;
    case "ptr":
    case "slice":
      return null;
    case "struct":
      return Object.fromEntries(t.fields.map((f) => [f.json, zero(f.type)]));
  }
}

/** The JSON syntax error as encoding/json words the common cases. */
function syntaxMessage(text: string, err: Error): string {
  if (/end of (JSON )?input|Unexpected end/i.test(err.message)) return "unexpected EOF";
  const pos = /position (\d+)/.exec(err.message);
  if (pos) {
    const c = text[Number(pos[1])];
    if (c !== undefined) return `invalid character ${JSON.stringify(c).replace(/^"|"$/g, "'")} in JSON at offset ${pos[1]}`;
  }
  return err.message;
}

/** json.Unmarshal of `text` into a value of Go type `t`; throws GoDecodeError with Go's message. */
export function decodeGo(t: GoType, text: string): unknown {
  if (text.trim() === "") throw new GoDecodeError("EOF");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new GoDecodeError(syntaxMessage(text, err as Error));
  }
  const d = new Decoder();
  const out = d.decode(t, value, { path: [] });
  if (d.firstError) throw new GoDecodeError(d.firstError);
  return out;
}

/** A body decoded into the old FaultInjectionPolicy, as gin's ShouldBindJSON does (message = what follows "invalid request body: "). */
export function decodeLegacyPolicy(text: string): LegacyPolicy {
  return decodeGo(FAULT_INJECTION_POLICY, text) as LegacyPolicy;
}
