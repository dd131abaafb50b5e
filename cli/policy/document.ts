// A stored policy as a document a person reads and `hfi policy apply -f -`
// accepts back: snake_case keys (as in the docs), defaults left out, the
// chosen oneof member kept even when it is "" or false.
import type protobuf from "protobufjs/light.js";
import type { PolicyOut } from "../../proto/types.ts";
import { fieldFacts, messageType, writeSetFields, type SetFieldsForm } from "../../policy/model.ts";

export type Doc = { [key: string]: DocValue };
export type DocValue = string | number | boolean | DocValue[] | Doc;

// Kept even when 0: "percentage: 0" means never, and leaving it out would read as a mistake.
const ALWAYS = new Set(["percentage"]);

/** Documents: snake_case keys, map keys sorted, "percentage: 0" kept, 64-bit numbers as text, empty list items left out. */
const DOCUMENT_FORM: SetFieldsForm = {
  key: (f) => f.name,
  map: (m) => Object.fromEntries(Object.keys(m).sort().map((k) => [k, String(m[k])])),
  scalar: (f, v) => (!ALWAYS.has(f.name) && (v === 0 || v === "" || v === false) ? undefined : typeof v === "object" ? String(v) : v),
  keepEmptyItems: false,
};

/** A decoded message of `type` as a document: fields in declaration order, defaults left out. */
function convert(type: protobuf.Type, value: unknown): Doc | undefined {
  if (value === null || value === undefined) return undefined;
  const out = writeSetFields(type, value, DOCUMENT_FORM) as Doc;
  return Object.keys(out).length ? out : undefined;
}

/**
 * The document form of a policy. With `withStatus: false` the output-only
 * metadata (version, timestamps) is left out.
 */
export function policyDocument(p: PolicyOut, opts: { withStatus?: boolean } = {}): Doc {
  const withStatus = opts.withStatus ?? true;
  const m = p.metadata;
  const metadata: Doc = { name: m?.name ?? "" };
  const labels = Object.keys(m?.labels ?? {}).sort();
  if (labels.length) metadata.labels = Object.fromEntries(labels.map((k) => [k, m!.labels[k]!]));
  if (withStatus && m) {
    if (m.version) metadata.version = m.version;
    if (m.createdAtUnixMs) metadata.created_at_unix_ms = m.createdAtUnixMs;
    if (m.updatedAtUnixMs) metadata.updated_at_unix_ms = m.updatedAtUnixMs;
    if (m.expiresAtUnixMs) metadata.expires_at_unix_ms = m.expiresAtUnixMs;
  }
  const spec: Doc = {};
  const s = p.spec;
  if (s) {
    const selector = convert(messageType("Selector"), s.selector);
    if (selector) spec.selector = selector;
    if (s.priority) spec.priority = s.priority;
    if (s.direction) spec.direction = s.direction;
    spec.rules = (s.rules ?? []).map((r) => convert(messageType("Rule"), r) ?? {});
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

/** Any decoded message of `type` with snake_case keys and every field kept (for status output). */
export function convertMessage(type: protobuf.Type, value: unknown): unknown {
  if (value === null || value === undefined || typeof value !== "object") return value;
  const msg = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of fieldFacts(type)) {
    if (!(f.key in msg)) continue;
    const v = msg[f.key];
    const sub = f.message;
    if (f.map) out[f.name] = { ...(v as object) };
    else if (f.repeated) out[f.name] = ((v as unknown[] | undefined) ?? []).map((e) => (sub ? convertMessage(sub, e) : e));
    else out[f.name] = sub ? convertMessage(sub, v) : v;
  }
  return out;
}
