// A stored policy as a document a person reads and `hfi policy apply -f -`
// accepts back: snake_case keys (as in the docs), defaults left out, the
// chosen oneof member kept even when it is "" or false.
import type { PolicyOut } from "../../proto/types.ts";

export type Doc = { [key: string]: DocValue };
export type DocValue = string | number | boolean | DocValue[] | Doc;

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

// Keys whose value is a user-chosen map: their keys are data, not field names.
const MAP_FIELDS = new Set(["labels"]);
// Field order of the output: proto declaration order, one list for every
// message (a key's place is the same wherever it occurs).
const ORDER = [
  "metadata", "spec", "name", "service", "namespace", "labels", "version", "created_at_unix_ms",
  "updated_at_unix_ms", "expires_at_unix_ms", "selector", "rules", "priority", "match", "fault", "method",
  "path", "percentage", "delay", "abort", "start_delay_ms", "duration_seconds", "delay_ms", "fixed_delay_ms",
  "http_status", "body", "headers", "query_params", "grpc_status", "exact", "prefix", "regex", "present", "value",
];
const rank = (k: string): number => {
  const i = ORDER.indexOf(k);
  return i < 0 ? ORDER.length : i;
};

function ordered(doc: Doc): Doc {
  const out: Doc = {};
  for (const k of Object.keys(doc).sort((a, b) => rank(a) - rank(b))) out[k] = doc[k]!;
  return out;
}

// Kept even when 0: "percentage: 0" means never, and leaving it out would read as a mistake.
const ALWAYS = new Set(["percentage"]);

function convert(value: unknown, key = ""): DocValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) {
    const items = value.map((v) => convert(v)).filter((v): v is DocValue => v !== undefined);
    return items.length ? items : undefined;
  }
  if (typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const out: Doc = {};
    if (MAP_FIELDS.has(key)) {
      for (const k of Object.keys(obj).sort()) out[k] = String(obj[k]);
      return Object.keys(out).length ? out : undefined;
    }
    // grpc-js with oneofs: true names the chosen member in `kind`.
    const chosen = typeof obj.kind === "string" ? obj.kind : undefined;
    for (const [k, v] of Object.entries(obj)) {
      if (k === "kind") continue;
      if (k === chosen) {
        out[snake(k)] = v as DocValue;
        continue;
      }
      const c = convert(v, k);
      if (c === undefined) continue;
      if (!ALWAYS.has(k) && (c === 0 || c === "" || c === false)) continue;
      out[snake(k)] = c;
    }
    return Object.keys(out).length ? ordered(out) : undefined;
  }
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  return String(value);
}

/**
 * The document form of a policy. With `withStatus: false` the output-only
 * metadata (version, timestamps) is left out.
 */
export function policyDocument(p: PolicyOut, opts: { withStatus?: boolean } = {}): Doc {
  const withStatus = opts.withStatus ?? true;
  const m = p.metadata;
  const metadata: Doc = { name: m?.name ?? "" };
  const labels = convert(m?.labels, "labels");
  if (labels) metadata.labels = labels;
  if (withStatus && m) {
    if (m.version) metadata.version = m.version;
    if (m.createdAtUnixMs) metadata.created_at_unix_ms = m.createdAtUnixMs;
    if (m.updatedAtUnixMs) metadata.updated_at_unix_ms = m.updatedAtUnixMs;
    if (m.expiresAtUnixMs) metadata.expires_at_unix_ms = m.expiresAtUnixMs;
  }
  const spec: Doc = {};
  const s = p.spec;
  if (s) {
    const selector = convert(s.selector);
    if (selector) spec.selector = selector;
    if (s.priority) spec.priority = s.priority;
    spec.rules = (s.rules ?? []).map((r) => (convert(r) as Doc | undefined) ?? {});
  }
  return { metadata, spec };
}

/** Flattens a document to "path: value" pairs (paths as in error messages). */
export function flatten(doc: DocValue, prefix = "", out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(doc)) {
    doc.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else if (typeof doc === "object") {
    for (const [k, v] of Object.entries(doc)) {
      const key = /^[a-z_][a-z0-9_]*$/.test(k) ? k : JSON.stringify(k);
      flatten(v, prefix ? `${prefix}.${key}` : key, out);
    }
  } else {
    out.set(prefix, JSON.stringify(doc));
  }
  return out;
}

export interface FieldChange {
  path: string;
  before?: string;
  after?: string;
}

/** What applying `next` over `prev` would change, field by field (spec and labels; status fields ignored). */
export function policyChanges(prev: PolicyOut | undefined, next: PolicyOut): FieldChange[] {
  const a = prev ? flatten(policyDocument(prev, { withStatus: false })) : new Map<string, string>();
  const b = flatten(policyDocument(next, { withStatus: false }));
  const changes: FieldChange[] = [];
  for (const [path, after] of b) {
    const before = a.get(path);
    if (before !== after) changes.push({ path, before, after });
  }
  for (const [path, before] of a) if (!b.has(path)) changes.push({ path, before });
  return changes;
}

/** Any decoded message with snake_case keys and every field kept (for status output). */
export function convertMessage(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => convertMessage(v));
  if (value === null || value === undefined || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  if (MAP_FIELDS.has(key)) return { ...obj };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === "kind" && typeof v === "string") continue;
    out[snake(k)] = convertMessage(v, k);
  }
  return out;
}
