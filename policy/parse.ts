// Entry points: a plain object (from JSON/YAML/gRPC) → a validated,
// normalised PolicyOut, and a text file (YAML or JSON, possibly several
// documents) → one result per policy document.
import { LineCounter, parseAllDocuments, type Document } from "yaml";
import type { PolicyOut } from "../proto/loader.ts";
import { encodedSize } from "./json.ts";
import { findJsonSyntaxError, lineCol, nestingProblem } from "./json-error.ts";
import { LIMITS } from "./limits.ts";
import { Decoder, isPlainObject, schemaType } from "./schema.ts";
import type { FieldError, ParseResult } from "./types.ts";
import { Validator } from "./validate.ts";

/** Validates and normalises one policy object; collects every error. */
export function parsePolicyInput(obj: unknown): ParseResult {
  if (!isPlainObject(obj)) return { ok: false, errors: [{ path: "policy", reason: "must be an object" }] };
  const d = new Decoder();
  const policy = d.message(schemaType("Policy"), obj, "") as unknown as PolicyOut;
  new Validator(d).policy(policy);
  if (policy.spec) {
    const size = encodedSize(policy);
    if (size > LIMITS.maxEncodedPolicyBytes)
      d.error("policy", `encoded size ${size} bytes exceeds the limit of ${LIMITS.maxEncodedPolicyBytes} bytes (64 KiB)`);
  }
  if (d.errors.length > 0) return { ok: false, errors: d.errors };
  return { ok: true, policy };
}

/** One policy document of a file. */
export type ParsedDocument = ParseResult & {
  /** 0-based position among the policies of the text. */
  index: number;
  source?: string;
  /** 1-based line where the document starts (1 for JSON). */
  line: number;
  /** Human label for messages, e.g. "policies.yaml, document 2 (line 9)". */
  label: string;
};

function label(source: string | undefined, index: number, line: number): string {
  return `${source ?? "<input>"}, document ${index + 1} (line ${line})`;
}

/** "<label>: <path>: <reason>" lines for a failed document. */
export function formatDocumentErrors(doc: ParsedDocument): string[] {
  return doc.ok ? [] : doc.errors.map((e) => `${doc.label}: ${e.path}: ${e.reason}`);
}

/**
 * Unwraps what `get -o json|yaml` and the REST API print, so output can be
 * applied again: a list, {policies: [...]} (ListPoliciesResponse) and
 * {policy: {...}} (Get/ApplyPolicyResponse).
 */
function policiesOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(policiesOf);
  if (isPlainObject(value) && !("metadata" in value) && !("spec" in value)) {
    if (Array.isArray(value.policies)) return value.policies;
    if (isPlainObject(value.policy)) return [value.policy];
  }
  return [value];
}

const MAX_SYNTAX_ERRORS = 10;

const syntaxError = (reason: string): FieldError[] => [{ path: "document", reason }];

/** Parses YAML (multi-document, `---`) or JSON text into per-document results. */
export function parsePolicyDocuments(text: string, source?: string): ParsedDocument[] {
  const out: ParsedDocument[] = [];
  const push = (r: ParseResult, line: number) => {
    const index = out.length;
    out.push({ ...r, index, source, line, label: label(source, index, line) });
  };

  const deep = nestingProblem(text);
  if (deep) {
    const { line, col } = lineCol(text, deep.offset);
    push({ ok: false, errors: syntaxError(`too deep at line ${line}, column ${col}: ${deep.message}`) }, 1);
    return out;
  }

  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      // YAML flow style ({metadata: {name: x}, ...}) also starts with "{": accept it when it parses as YAML.
      const lineCounter = new LineCounter();
      const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
      if (Array.isArray(docs) && docs.length > 0 && docs.every((d) => d.errors.length === 0)) {
        yamlDocuments(docs, lineCounter, push);
        return out;
      }
      const found = findJsonSyntaxError(text);
      const reason = found
        ? (({ line, col }) => `invalid JSON at line ${line}, column ${col}: ${found.message}`)(lineCol(text, found.offset))
        : `invalid JSON: ${(e as Error).message}`;
      push({ ok: false, errors: syntaxError(reason) }, 1);
      return out;
    }
    for (const p of policiesOf(value)) push(parsePolicyInput(p), 1);
    return out;
  }

  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (Array.isArray(docs)) yamlDocuments(docs, lineCounter, push); // else: empty stream
  return out;
}

function yamlDocuments(
  docs: Document.Parsed[],
  lineCounter: LineCounter,
  push: (r: ParseResult, line: number) => void,
): void {
  for (const doc of docs) {
    const start = lineCounter.linePos(doc.range[0]).line;
    if (doc.errors.length > 0) {
      // The first few are what matters; a broken file can produce thousands.
      const errors: FieldError[] = doc.errors.slice(0, MAX_SYNTAX_ERRORS).map((e) => {
        const pos = e.linePos?.[0];
        const where = pos ? ` at line ${pos.line}, column ${pos.col}` : "";
        return { path: "document", reason: `invalid YAML${where}: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}` };
      });
      if (doc.errors.length > MAX_SYNTAX_ERRORS)
        errors.push({ path: "document", reason: `and ${doc.errors.length - MAX_SYNTAX_ERRORS} more YAML errors` });
      push({ ok: false, errors }, start);
      continue;
    }
    if (doc.contents === null) continue; // empty document (e.g. a trailing ---)
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      push({ ok: false, errors: syntaxError(`invalid YAML: ${(e as Error).message}`) }, start);
      continue;
    }
    if (value === null || value === undefined) continue; // only comments
    for (const p of policiesOf(value)) push(parsePolicyInput(p), start);
  }
}
