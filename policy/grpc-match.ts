// match.grpc: a shorthand for the path of a gRPC call (/<service>/<method>,
// as gRPC over HTTP/2 sends it in :path). It is stored as written (get and
// describe show it) and compiled into the path matcher for the filter, which
// knows only paths.
import type { GrpcMatchOut, RuleOut, StringMatchOut } from "../proto/types.ts";
import type { FaultCheck } from "./fault-kinds.ts";

/** A fully qualified protobuf service name: package segments and the service, dot-separated. */
const SERVICE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const METHOD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ANY = "*";

/** Validates and normalises (empty → "*") in place; `at` is the path of the grpc field. */
export function validateGrpcMatch(g: GrpcMatchOut, at: string, hasPath: boolean, c: FaultCheck): void {
  if (g.service === "") g.service = ANY;
  if (g.method === "") g.method = ANY;
  if (hasPath) c.err(at, "conflicts with path (set only one: grpc compiles to the path matcher)");
  if (g.service !== ANY && (g.service.length > 512 || !SERVICE.test(g.service)))
    c.err(`${at}.service`, `must be "*" or a fully qualified service name (e.g. demo.Catalog; letters, digits, '_', dot-separated, at most 512 characters)`);
  if (g.method !== ANY && (g.method.length > 256 || !METHOD.test(g.method)))
    c.err(`${at}.method`, `must be "*" or a method name (letters, digits, '_', at most 256 characters)`);
}

const pathMatch = (m: Partial<StringMatchOut>): StringMatchOut =>
  ({ exact: undefined, prefix: undefined, regex: undefined, ...m }) as StringMatchOut;

/** The path matcher a grpc match stands for. Names are regex-safe (checked above). */
export function grpcPathMatch(g: GrpcMatchOut): StringMatchOut {
  const svc = g.service || ANY;
  const method = g.method || ANY;
  if (svc !== ANY && method !== ANY) return pathMatch({ exact: `/${svc}/${method}`, kind: "exact" });
  if (svc !== ANY) return pathMatch({ prefix: `/${svc}/`, kind: "prefix" });
  if (method !== ANY) return pathMatch({ regex: `^/[^/]+/${method}$`, kind: "regex" });
  return pathMatch({ regex: "^/[^/]+/[^/]+$", kind: "regex" });
}

/** A policy's rules as the filter gets them: shorthands the filter does not know compiled away. */
export function filterRules(rules: readonly RuleOut[]): RuleOut[] {
  return rules.map((r) => {
    const g = r.match?.grpc;
    if (!g) return r;
    return { ...r, match: { ...r.match!, grpc: null, path: grpcPathMatch(g) } };
  });
}

/** "grpc demo.Catalog/*" */
export function grpcMatchText(g: GrpcMatchOut): string {
  return `grpc ${g.service || ANY}/${g.method || ANY}`;
}
