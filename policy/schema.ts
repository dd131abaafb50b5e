// Structural decoding of a plain JSON/YAML object against the hfi.v1 proto
// schema, driven by protobufjs reflection (the same descriptor the gRPC
// loader uses, so a new field is accepted without touching this code).
// Produces the proto-loader output shape (camelCase, defaults filled, oneof
// `kind` set) and collects every structural error (unknown field, wrong
// type, out-of-range integer) with a snake_case path.
import protobuf from "protobufjs/light.js";
import { schemaRoot } from "../proto/schema.ts";
import type { FieldError } from "./types.ts";

/** hfi.v1 types with the original snake_case field names. */
export function schemaType(name: string): protobuf.Type {
  return schemaRoot().lookupType(`hfi.v1.${name}`);
}

export function lowerCamel(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

const INT_RANGES: Record<string, [number, number]> = {
  uint32: [0, 4294967295],
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

export class Decoder {
  readonly errors: FieldError[] = [];

  error(path: string, reason: string): void {
    // One error per field: a type error is not repeated by later semantic checks.
    if (this.errors.some((e) => e.path === path)) return;
    this.errors.push({ path, reason });
  }

  hasError(path: string): boolean {
    return this.errors.some((e) => e.path === path);
  }

  /** Decodes `value` (a plain object) as message `type`. */
  message(type: protobuf.Type, value: Record<string, unknown>, at: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const byKey = new Map<string, protobuf.Field>();
    for (const f of type.fieldsArray) {
      byKey.set(f.name, f);
      byKey.set(lowerCamel(f.name), f);
    }
    const oneofNames = new Set(type.oneofsArray.map((o) => o.name));
    const seen = new Map<protobuf.Field, string>();

    for (const [key, raw] of Object.entries(value)) {
      const field = byKey.get(key);
      if (!field) {
        // proto-loader objects carry a virtual `kind` naming the set oneof member.
        if (oneofNames.has(key) && (raw === undefined || raw === null || typeof raw === "string")) continue;
        this.error(join(at, key), "unknown field");
        continue;
      }
      const p = join(at, field.name);
      const other = seen.get(field);
      if (other !== undefined) {
        this.error(p, `is given twice (as ${other} and ${key})`);
        continue;
      }
      seen.set(field, key);
      if (raw === null || raw === undefined) continue; // proto3 JSON: null = default
      out[lowerCamel(field.name)] = this.field(field, raw, p);
    }

    // Defaults and oneof bookkeeping, as proto-loader with defaults/oneofs.
    for (const f of type.fieldsArray) {
      const k = lowerCamel(f.name);
      if (f.partOf) continue;
      if (out[k] !== undefined) continue;
      if (f.map) out[k] = {};
      else if (f.repeated) out[k] = [];
      else if (f.resolvedType instanceof protobuf.Type) out[k] = null;
      else out[k] = scalarDefault(f.type);
    }
    for (const o of type.oneofsArray) {
      const set = o.fieldsArray.filter((f) => out[lowerCamel(f.name)] !== undefined);
      if (set.length > 1) {
        this.error(
          at,
          `only one of ${o.fieldsArray.map((f) => f.name).join(", ")} may be set (got ${set.map((f) => f.name).join(", ")})`,
        );
        for (const f of set.slice(1)) delete out[lowerCamel(f.name)];
      }
      if (set.length > 0) out[o.name] = lowerCamel(set[0]!.name);
    }
    return out;
  }

  private field(f: protobuf.Field, raw: unknown, p: string): unknown {
    if (f.map) {
      if (!isPlainObject(raw)) return this.error(p, "must be an object (map)"), {};
      const m: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(raw)) {
        const badKey = loneSurrogate(k);
        if (badKey) {
          this.error(`${p}[${JSON.stringify(k)}]`, `key ${badKey}`);
          continue;
        }
        if (v === null || v === undefined) continue;
        const val = this.single(f, v, `${p}[${JSON.stringify(k)}]`);
        // defineProperty: a "__proto__" key stays a plain (and then rejected) entry.
        if (val !== undefined) Object.defineProperty(m, k, { value: val, enumerable: true, writable: true, configurable: true });
      }
      return m;
    }
    if (f.repeated) {
      if (!Array.isArray(raw)) return this.error(p, "must be a list"), [];
      const list: unknown[] = [];
      raw.forEach((v, i) => {
        const val = this.single(f, v, `${p}[${i}]`);
        if (val !== undefined) list.push(val);
      });
      return list;
    }
    return this.single(f, raw, p) ?? (f.resolvedType instanceof protobuf.Type ? null : scalarDefault(f.type));
  }

  /** One value of field f (an element for lists/maps); undefined after an error. */
  private single(f: protobuf.Field, v: unknown, p: string): unknown {
    if (f.resolvedType instanceof protobuf.Type) {
      if (!isPlainObject(v)) return this.error(p, "must be an object"), undefined;
      return this.message(f.resolvedType, v, p);
    }
    if (f.resolvedType instanceof protobuf.Enum) {
      const e = f.resolvedType;
      if (typeof v === "string" && v in e.values) return v;
      if (typeof v === "number" && v in e.valuesById) return e.valuesById[v];
      return this.error(p, `must be one of ${Object.keys(e.values).join(", ")}`), undefined;
    }
    switch (f.type) {
      case "string": {
        if (typeof v !== "string") return this.error(p, "must be a string"), undefined;
        const bad = loneSurrogate(v);
        if (bad) return this.error(p, bad), undefined;
        return v;
      }
      case "bool":
        if (typeof v !== "boolean") return this.error(p, "must be true or false"), undefined;
        return v;
      case "double":
      case "float": {
        // Numeric strings are accepted (proto3 JSON), decimal notation only ("0x10" is not 16).
        const n = typeof v === "string" && /^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(v) ? Number(v) : v;
        if (typeof n !== "number" || !Number.isFinite(n)) return this.error(p, "must be a number"), undefined;
        return n;
      }
      default: {
        const range = INT_RANGES[f.type];
        if (!range) return this.error(p, `unsupported field type ${f.type}`), undefined;
        // proto3 JSON writes 64-bit integers as strings; accept decimal strings for every integer.
        const n = typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
        if (typeof n !== "number" || !Number.isFinite(n)) return this.error(p, "must be an integer"), undefined;
        if (!Number.isInteger(n)) return this.error(p, "must be an integer"), undefined;
        if (n < range[0])
          return this.error(p, range[0] === 0 ? "must be a non-negative integer" : `must be at least ${range[0]}`), undefined;
        if (n > range[1]) return this.error(p, `must be at most ${range[1]}`), undefined;
        return n;
      }
    }
  }
}

/**
 * A string that is not valid Unicode (a lone UTF-16 surrogate, which JSON
 * "\\ud800" escapes and protobufjs's UTF-8 reader both let through) cannot
 * be encoded as UTF-8 for the filters: the reason, or undefined when fine.
 */
export function loneSurrogate(s: string): string | undefined {
  if (!/[\ud800-\udfff]/.test(s)) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (n >= 0xdc00 && n <= 0xdfff) {
        i++;
        continue;
      }
    } else if (c < 0xdc00 || c > 0xdfff) continue;
    return `is not valid Unicode: lone UTF-16 surrogate U+${c.toString(16).toUpperCase()} at character ${i}`;
  }
  return undefined;
}

function scalarDefault(type: string): unknown {
  if (type === "string") return "";
  if (type === "bool") return false;
  if (type === "bytes") return Buffer.alloc(0);
  return 0;
}

/** Appends a key to a path; keys that are not plain identifiers are quoted (`foo["a b"]`). */
export function join(at: string, key: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `${at}[${JSON.stringify(key)}]`;
  return at === "" ? key : `${at}.${key}`;
}
