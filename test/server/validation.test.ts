// Policy parsing and validation: the accepted shapes, normalisation, every
// rejection with its exact "path: reason", multi-document files, and the HFI
// regex subset (parser and the reference Pike VM).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import {
  compileHfiRegex,
  encodedSize,
  filterRules,
  hfiRegexError,
  parsePolicyDocuments,
  parsePolicyInput,
  policyExpiry,
  policyToJson,
} from "../../policy/index.ts";
import type { PolicyOut } from "../../proto/loader.ts";

const SHAPES = `metadata: {name: frontend-delay}
spec:
  selector: {service: frontend, namespace: demo}
  rules:
    - fault: {delay_ms: 500, percentage: 50}
---
metadata: {name: api-abort}
spec:
  selector: {service: "*", namespace: demo}
  rules:
    - match:
        method: {exact: POST}
        path: {prefix: /api/}
        headers: [{name: x-user-id, exact: test}]
      fault:
        percentage: 20
        start_delay_ms: 500
        duration_seconds: 300
        delay: {fixed_delay_ms: 2000}
    - match: {path: {regex: "^/v[0-9]+/items$"}}
      fault: {percentage: 100, abort: {httpStatus: 503, body: "injected"}}
`;

function ok(input: unknown): PolicyOut {
  const r = parsePolicyInput(input);
  if (!r.ok) assert.unreachable(`expected valid, got ${JSON.stringify(r.errors)}`);
  return (r as { policy: PolicyOut }).policy;
}

function errorsOf(input: unknown): string[] {
  const r = parsePolicyInput(input);
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.reason}`);
}

/** A valid policy to break one field at a time. */
function base(): any {
  return {
    metadata: { name: "p" },
    spec: { selector: { service: "svc", namespace: "ns" }, rules: [{ fault: { percentage: 50, delay_ms: 100 } }] },
  };
}
function withFault(fault: object): any {
  const p = base();
  p.spec.rules[0].fault = fault;
  return p;
}
function withMatch(match: object): any {
  const p = base();
  p.spec.rules[0].match = match;
  return p;
}

test("the two documented shapes are accepted and normalised", () => {
  const docs = parsePolicyDocuments(SHAPES, "shapes.yaml");
  assert.is(docs.length, 2);
  assert.ok(docs.every((d) => d.ok));
  const [a, b] = docs.map((d) => (d as { policy: PolicyOut }).policy);
  assert.equal(policyToJson(a!), {
    metadata: { name: "frontend-delay" },
    spec: {
      selector: { service: "frontend", namespace: "demo" },
      rules: [{ fault: { percentage: 50, delay: { fixedDelayMs: 500 } } }],
    },
  });
  // The shorthand is gone from the normalised output; defaults are filled.
  assert.is(a!.spec!.rules[0]!.fault!.delayMs, 0);
  assert.is(a!.spec!.rules[0]!.match, null);
  assert.is(a!.spec!.priority, 0);
  assert.equal(a!.metadata!.labels, {});
  assert.equal(policyToJson(b!), {
    metadata: { name: "api-abort" },
    spec: {
      selector: { service: "*", namespace: "demo" },
      rules: [
        {
          match: { method: { exact: "POST" }, path: { prefix: "/api/" }, headers: [{ name: "x-user-id", exact: "test" }] },
          fault: { percentage: 20, delay: { fixedDelayMs: 2000 }, startDelayMs: 500, durationSeconds: 300 },
        },
        {
          match: { path: { regex: "^/v[0-9]+/items$" } },
          fault: { percentage: 100, abort: { httpStatus: 503, body: "injected" } },
        },
      ],
    },
  });
  assert.is(b!.spec!.rules[0]!.match!.method!.kind, "exact");
  assert.is(docs[1]!.index, 1);
  assert.is(docs[1]!.line, 6);
  assert.is(docs[1]!.label, "shapes.yaml, document 2 (line 6)");
});

test("delay distributions: the issue's shapes, snake_case and lowerCamelCase alike", () => {
  const snake = ok(withFault({ percentage: 100, delay: { uniform: { min_ms: 100, max_ms: 200 } } }));
  const camel = ok(withFault({ percentage: 100, delay: { uniform: { minMs: 100, maxMs: 200 } } }));
  assert.equal(snake.spec!.rules[0]!.fault!.delay, { fixedDelayMs: 0, uniform: { minMs: 100, maxMs: 200 }, lognormal: null });
  assert.equal(camel, snake);
  const ln = ok(withFault({ percentage: 100, delay: { lognormal: { p50_ms: 50, p99_ms: 400 } } }));
  assert.equal(ln.spec!.rules[0]!.fault!.delay!.lognormal, { p50Ms: 50, p99Ms: 400 });
  assert.equal(ok(withFault({ percentage: 100, delay: { lognormal: { p50Ms: 50, p99Ms: 400 } } })), ln);
  // min_ms 0 is allowed: some requests then pass undelayed.
  ok(withFault({ percentage: 100, delay: { uniform: { max_ms: 10 } } }));
  assert.equal((policyToJson(ln) as any).spec.rules[0].fault.delay, { lognormal: { p50Ms: 50, p99Ms: 400 } });
});

test("match.grpc: stored as written (empty = \"*\"), compiled into the path matcher for the filter", () => {
  const p = ok(withMatch({ grpc: { service: "demo.Catalog", method: "*" } }));
  assert.equal(p.spec!.rules[0]!.match!.grpc, { service: "demo.Catalog", method: "*" });
  assert.is(p.spec!.rules[0]!.match!.path, null, "the stored form keeps the shorthand");
  assert.equal(ok(withMatch({ grpc: { service: "demo.Catalog" } })).spec!.rules[0]!.match!.grpc, { service: "demo.Catalog", method: "*" });
  const compiled = (g: object) => {
    const m = filterRules(ok(withMatch({ grpc: g })).spec!.rules)[0]!.match!;
    assert.is(m.grpc, null);
    return { [m.path!.kind!]: (m.path as any)[m.path!.kind!] };
  };
  assert.equal(compiled({ service: "demo.Catalog", method: "List" }), { exact: "/demo.Catalog/List" });
  assert.equal(compiled({ service: "demo.Catalog", method: "*" }), { prefix: "/demo.Catalog/" });
  assert.equal(compiled({ service: "*", method: "List" }), { regex: "^/[^/]+/List$" });
  assert.equal(compiled({}), { regex: "^/[^/]+/[^/]+$" });
  // The compiled regexes are in the HFI subset and mean what they say.
  const any = compileHfiRegex("^/[^/]+/List$");
  assert.ok(any.test("/a.B/List") && !any.test("/a.B/ListAll") && !any.test("/a/b/List"));
});

test("fault.header_control: the issue's shape alone (no percentage needed), in both spellings", () => {
  const p = ok(withFault({ header_control: { max_delay_ms: 2000, allow_abort: true } }));
  assert.equal(p.spec!.rules[0]!.fault!.headerControl, { maxDelayMs: 2000, allowAbort: true });
  assert.equal(ok(withFault({ headerControl: { maxDelayMs: 2000, allowAbort: true } })), p);
  // Beside the rule's own faults, for requests that do not ask.
  ok(withFault({ percentage: 5, abort: { http_status: 503 }, header_control: { allow_abort: true } }));
});

test("match.source: the issue's shape; principal normalised without spiffe://", () => {
  const p = ok(withMatch({ grpc: { service: "demo.Catalog", method: "*" }, source: { service: "checkout" } }));
  assert.equal(p.spec!.rules[0]!.match!.source, { service: "checkout", namespace: "", principal: "" });
  const byPrincipal = ok(withMatch({ source: { principal: "spiffe://cluster.local/ns/demo/sa/checkout" } }));
  assert.is(byPrincipal.spec!.rules[0]!.match!.source!.principal, "cluster.local/ns/demo/sa/checkout");
  assert.equal(ok(withMatch({ source: { service: "*", namespace: "demo" } })).spec!.rules[0]!.match!.source, { service: "", namespace: "demo", principal: "" });
});

test("issue 12's request-side rules parse exactly as written in the issue", () => {
  const text = `metadata: {name: fe-response}
spec:
  selector: {service: frontend, namespace: demo}
  rules:
    - match: {path: {prefix: /slow}}
      fault: {percentage: 100, delay: {uniform: {min_ms: 100, max_ms: 200}}}
    - match: {path: {prefix: /tail}}
      fault: {percentage: 100, delay: {lognormal: {p50_ms: 50, p99_ms: 400}}}
    - match: {path: {prefix: /on-demand}}
      fault: {header_control: {max_delay_ms: 2000, allow_abort: true}}
    - match: {grpc: {service: demo.Catalog, method: "*"}, source: {service: checkout}}
      fault: {percentage: 10, abort: {grpc_status: 14}}
`;
  const [doc] = parsePolicyDocuments(text);
  assert.ok(doc!.ok, JSON.stringify(doc));
  // abort with grpc_status only: HTTP 200 carrying grpc-status 14, as Envoy's fault filter answers.
  assert.equal((doc as { policy: PolicyOut }).policy.spec!.rules[3]!.fault!.abort, { httpStatus: 200, body: "", headers: [], grpcStatus: 14 });
});

test("snake_case and lowerCamelCase field names are equivalent", () => {
  const snake = ok({
    metadata: { name: "x" },
    spec: {
      rules: [
        {
          match: { query_params: [{ name: "debug", present: true }] },
          fault: { percentage: 1.5, start_delay_ms: 10, duration_seconds: 60, abort: { http_status: 500, grpc_status: 14 } },
        },
      ],
    },
  });
  const camel = ok({
    metadata: { name: "x" },
    spec: {
      rules: [
        {
          match: { queryParams: [{ name: "debug", present: true }] },
          fault: { percentage: 1.5, startDelayMs: 10, durationSeconds: 60, abort: { httpStatus: 500, grpcStatus: 14 } },
        },
      ],
    },
  });
  assert.equal(snake, camel);
  assert.is(snake.spec!.rules[0]!.match!.queryParams[0]!.kind, "present");
  assert.is(snake.spec!.rules[0]!.match!.queryParams[0]!.present, true);
});

test("normalisation: header names lowercased, percentage rounded to 1e-4, missing selector = any", () => {
  const p = ok({
    metadata: { name: "n" },
    spec: {
      rules: [
        {
          match: { headers: [{ name: "X-User-ID", present: false }] },
          fault: { percentage: 0.1 + 0.2, abort: { http_status: 503, headers: [{ name: "Retry-After", value: "5" }] } },
        },
      ],
    },
  });
  const rule = p.spec!.rules[0]!;
  assert.is(rule.match!.headers[0]!.name, "x-user-id");
  assert.is(rule.match!.headers[0]!.present, false);
  assert.is(rule.fault!.abort!.headers[0]!.name, "retry-after");
  assert.is(rule.fault!.percentage, 0.3);
  assert.equal(p.spec!.selector, { service: "", namespace: "", labels: {} });
  // A oneof member with a default value survives the canonical JSON.
  assert.equal((policyToJson(p) as any).spec.rules[0].match.headers, [{ name: "x-user-id", present: false }]);
});

test("metadata.version_label: the user's version string, kept as given, at most 128 characters", () => {
  assert.is(ok({ ...base(), metadata: { name: "p", version_label: "1.0.0" } }).metadata!.versionLabel, "1.0.0");
  assert.is((policyToJson(ok({ ...base(), metadata: { name: "p", versionLabel: "2.1.0" } })) as any).metadata.versionLabel, "2.1.0");
  const r = parsePolicyInput({ ...base(), metadata: { name: "p", version_label: "x".repeat(129) } });
  assert.ok(!r.ok);
  assert.equal(r.ok ? [] : r.errors, [{ path: "metadata.version_label", reason: "must be at most 128 characters" }]);
});

test("output-only metadata is accepted and ignored (get -o yaml | apply -f - round trip)", () => {
  const stored = ok(base());
  stored.metadata = { ...stored.metadata!, version: 42, createdAtUnixMs: 1, updatedAtUnixMs: 2, expiresAtUnixMs: 3 };
  const again = ok(policyToJson(stored));
  assert.equal(again.metadata, { name: "p", labels: {}, version: 0, createdAtUnixMs: 0, updatedAtUnixMs: 0, expiresAtUnixMs: 0, versionLabel: "" });
  // proto3 JSON writes int64 as strings; those are fine too.
  ok({ ...base(), metadata: { name: "p", version: "42", created_at_unix_ms: "1700000000000" } });
  // The output object itself (proto-loader shape: nulls, defaults, oneof `kind`) parses to the same.
  const shaped = (parsePolicyDocuments(SHAPES)[1] as { policy: PolicyOut }).policy;
  assert.equal(ok(shaped), shaped);
});

const BAD: [string, unknown, string[]][] = [
  ["no fault action", withFault({ percentage: 50 }), ["spec.rules[0].fault: must set delay (or delay_ms), abort, header_control, response or response_rate_limit"]],
  ["header control allowing nothing", withFault({ header_control: {} }), ["spec.rules[0].fault.header_control: must allow a delay (max_delay_ms > 0) or an abort (allow_abort: true)"]],
  ["header control over the delay cap", withFault({ header_control: { max_delay_ms: 120001 } }), ["spec.rules[0].fault.header_control.max_delay_ms: must be at most 120000 (2 minutes)"]],
  ["header control allow_abort not a boolean", withFault({ header_control: { allow_abort: "yes" } }), ["spec.rules[0].fault.header_control.allow_abort: must be true or false"]],
  ["negative delay", withFault({ percentage: 50, delay_ms: -5 }), ["spec.rules[0].fault.delay_ms: must be a non-negative integer"]],
  ["delay over the cap", withFault({ percentage: 50, delay: { fixed_delay_ms: 120001 } }), ["spec.rules[0].fault.delay.fixed_delay_ms: must be at most 120000 (2 minutes)"]],
  ["delay_ms over the cap", withFault({ percentage: 50, delay_ms: 3_600_000 }), ["spec.rules[0].fault.delay_ms: must be at most 120000 (2 minutes)"]],
  ["zero delay", withFault({ percentage: 50, delay: { fixed_delay_ms: 0 } }), ["spec.rules[0].fault.delay.fixed_delay_ms: must be greater than 0"]],
  ["delay given twice, different", withFault({ percentage: 50, delay_ms: 5, delay: { fixed_delay_ms: 6 } }), ["spec.rules[0].fault.delay_ms: conflicts with delay.fixed_delay_ms (set only one)"]],
  ["uniform max below min", withFault({ percentage: 50, delay: { uniform: { min_ms: 200, max_ms: 100 } } }), ["spec.rules[0].fault.delay.uniform.max_ms: must be at least min_ms (200)"]],
  ["uniform without max", withFault({ percentage: 50, delay: { uniform: { min_ms: 20 } } }), ["spec.rules[0].fault.delay.uniform.max_ms: must be greater than 0"]],
  ["uniform over the cap", withFault({ percentage: 50, delay: { uniform: { max_ms: 120001 } } }), ["spec.rules[0].fault.delay.uniform.max_ms: must be at most 120000 (2 minutes)"]],
  ["lognormal without p50", withFault({ percentage: 50, delay: { lognormal: { p99_ms: 400 } } }), ["spec.rules[0].fault.delay.lognormal.p50_ms: must be greater than 0"]],
  ["lognormal p99 not above p50", withFault({ percentage: 50, delay: { lognormal: { p50_ms: 400, p99_ms: 400 } } }), ["spec.rules[0].fault.delay.lognormal.p99_ms: must be greater than p50_ms (400)"]],
  ["lognormal p99 over the cap", withFault({ percentage: 50, delay: { lognormal: { p50_ms: 50, p99_ms: 120001 } } }), ["spec.rules[0].fault.delay.lognormal.p99_ms: must be at most 120000 (2 minutes)"]],
  ["two delay forms", withFault({ percentage: 50, delay: { fixed_delay_ms: 5, uniform: { max_ms: 9 } } }), ["spec.rules[0].fault.delay: only one of fixed_delay_ms, uniform, lognormal may be set (got fixed_delay_ms, uniform)"]],
  ["delay_ms beside a distribution", withFault({ percentage: 50, delay_ms: 5, delay: { lognormal: { p50_ms: 5, p99_ms: 9 } } }), ["spec.rules[0].fault.delay_ms: conflicts with delay.lognormal (set only one)"]],
  ["uniform not an object", withFault({ percentage: 50, delay: { uniform: 5 } }), ["spec.rules[0].fault.delay.uniform: must be an object"]],
  ["same field as snake and camel", withFault({ percentage: 50, delay_ms: 5, delayMs: 5 }), ["spec.rules[0].fault.delay_ms: is given twice (as delay_ms and delayMs)"]],
  ["absurd delay (> uint32)", withFault({ percentage: 50, delay_ms: 4294967296 }), ["spec.rules[0].fault.delay_ms: must be at most 4294967295"]],
  ["fractional delay", withFault({ percentage: 50, delay_ms: 1.5 }), ["spec.rules[0].fault.delay_ms: must be an integer"]],
  ["percentage 101", withFault({ percentage: 101, delay_ms: 5 }), ["spec.rules[0].fault.percentage: must be between 0 and 100"]],
  ["percentage -1", withFault({ percentage: -1, delay_ms: 5 }), ["spec.rules[0].fault.percentage: must be between 0 and 100"]],
  ["percentage 0.00001", withFault({ percentage: 0.00001, delay_ms: 5 }), ["spec.rules[0].fault.percentage: must have at most 4 decimal places"]],
  ["percentage not a number", withFault({ percentage: "half", delay_ms: 5 }), ["spec.rules[0].fault.percentage: must be a number"]],
  ["percentage in hex", withFault({ percentage: "0x10", delay_ms: 5 }), ["spec.rules[0].fault.percentage: must be a number"]],
  ["percentage boolean", withFault({ percentage: true, delay_ms: 5 }), ["spec.rules[0].fault.percentage: must be a number"]],
  ["start delay over the cap", withFault({ percentage: 5, delay_ms: 5, start_delay_ms: 120001 }), ["spec.rules[0].fault.start_delay_ms: must be at most 120000 (2 minutes)"]],
  ["duration over 30 days", withFault({ percentage: 5, delay_ms: 5, duration_seconds: 2592001 }), ["spec.rules[0].fault.duration_seconds: must be at most 2592000 (30 days)"]],
  ["http status 199", withFault({ percentage: 5, abort: { http_status: 199 } }), ["spec.rules[0].fault.abort.http_status: must be between 200 and 599"]],
  ["http status 600", withFault({ percentage: 5, abort: { http_status: 600 } }), ["spec.rules[0].fault.abort.http_status: must be between 200 and 599"]],
  ["abort without status", withFault({ percentage: 5, abort: { body: "x" } }), ["spec.rules[0].fault.abort.http_status: must be between 200 and 599"]],
  ["abort with a bad grpc status only", withFault({ percentage: 5, abort: { grpc_status: 17 } }), ["spec.rules[0].fault.abort.grpc_status: must be between 0 and 16"]],
  ["grpc status 17", withFault({ percentage: 5, abort: { http_status: 503, grpc_status: 17 } }), ["spec.rules[0].fault.abort.grpc_status: must be between 0 and 16"]],
  ["oversize abort body", withFault({ percentage: 5, abort: { http_status: 503, body: "x".repeat(4097) } }), ["spec.rules[0].fault.abort.body: must be at most 4096 bytes (got 4097)"]],
  ["abort body counted in UTF-8 bytes", withFault({ percentage: 5, abort: { http_status: 503, body: "é".repeat(2049) } }), ["spec.rules[0].fault.abort.body: must be at most 4096 bytes (got 4098)"]],
  ["too many abort headers", withFault({ percentage: 5, abort: { http_status: 503, headers: Array.from({ length: 17 }, (_, i) => ({ name: `h${i}`, value: "v" })) } }), ["spec.rules[0].fault.abort.headers: must have at most 16 entries (got 17)"]],
  ["abort header value with CRLF", withFault({ percentage: 5, abort: { http_status: 503, headers: [{ name: "x-a", value: "a\r\nb: c" }] } }), ["spec.rules[0].fault.abort.headers[0].value: must not contain CR, LF or NUL"]],
  ["abort header the proxy owns", withFault({ percentage: 5, abort: { http_status: 503, headers: [{ name: "Content-Length", value: "1" }] } }), ["spec.rules[0].fault.abort.headers[0].name: is set by the proxy and cannot be overridden"]],
  ["grpc beside path", withMatch({ path: { prefix: "/x" }, grpc: { service: "demo.Catalog" } }), ["spec.rules[0].match.grpc: conflicts with path (set only one: grpc compiles to the path matcher)"]],
  ["grpc service not a name", withMatch({ grpc: { service: "demo/Catalog", method: "*" } }), [`spec.rules[0].match.grpc.service: must be "*" or a fully qualified service name (e.g. demo.Catalog; letters, digits, '_', dot-separated, at most 512 characters)`]],
  ["grpc method not a name", withMatch({ grpc: { service: "demo.Catalog", method: "Get.All" } }), [`spec.rules[0].match.grpc.method: must be "*" or a method name (letters, digits, '_', at most 256 characters)`]],
  ["grpc unknown field", withMatch({ grpc: { service: "demo.Catalog", verb: "x" } }), ["spec.rules[0].match.grpc.verb: unknown field"]],
  ["source principal beside service", withMatch({ source: { service: "checkout", principal: "cluster.local/ns/demo/sa/checkout" } }), ["spec.rules[0].match.source.principal: conflicts with service/namespace (match the caller by one or the other)"]],
  ["source empty", withMatch({ source: { service: "*" } }), ["spec.rules[0].match.source: must set service, namespace or principal"]],
  ["source namespace not a label", withMatch({ source: { namespace: "Demo" } }), [`spec.rules[0].match.source.namespace: must be "*" or an RFC 1123 label (a-z, 0-9, '-', at most 63 characters)`]],
  ["source service not a name", withMatch({ source: { service: "check out" } }), [`spec.rules[0].match.source.service: must be "*" or a workload name (letters, digits, '-', '_', '.', at most 253 characters)`]],
  ["source principal with spaces", withMatch({ source: { principal: "cluster.local/ns/demo/sa/a b" } }), ["spec.rules[0].match.source.principal: must be a SPIFFE identity such as cluster.local/ns/demo/sa/checkout (no whitespace, at most 1024 bytes)"]],
  ["invalid regex", withMatch({ path: { regex: "(/api" } }), ["spec.rules[0].match.path.regex: unbalanced parentheses: missing ')'"]],
  ["backreference", withMatch({ path: { regex: "(a)\\1" } }), ["spec.rules[0].match.path.regex: backreferences are not supported (linear-time subset)"]],
  ["lookahead", withMatch({ path: { regex: "^/api(?=/v1)" } }), ["spec.rules[0].match.path.regex: lookahead and lookbehind are not supported (linear-time subset)"]],
  ["lookbehind in a header regex", withMatch({ headers: [{ name: "x", regex: "(?<!a)b" }] }), ["spec.rules[0].match.headers[0].regex: lookahead and lookbehind are not supported (linear-time subset)"]],
  ["regex too long", withMatch({ path: { regex: "a".repeat(257) } }), ["spec.rules[0].match.path.regex: must be at most 256 characters"]],
  ["empty regex", withMatch({ method: { regex: "" } }), ["spec.rules[0].match.method.regex: must not be empty"]],
  ["string match without kind", withMatch({ path: {} }), ["spec.rules[0].match.path: must set exactly one of exact, prefix, regex"]],
  ["string match with two kinds", withMatch({ path: { exact: "/a", prefix: "/b" } }), ["spec.rules[0].match.path: only one of exact, prefix, regex may be set (got exact, prefix)"]],
  ["header match with two kinds", withMatch({ headers: [{ name: "x", exact: "a", present: true }] }), ["spec.rules[0].match.headers[0]: only one of exact, prefix, regex, present may be set (got exact, present)"]],
  ["header match without kind", withMatch({ headers: [{ name: "x" }] }), ["spec.rules[0].match.headers[0]: must set exactly one of exact, prefix, regex, present"]],
  ["empty header name", withMatch({ headers: [{ name: "", exact: "a" }] }), ["spec.rules[0].match.headers[0].name: is required"]],
  ["header name not a token", withMatch({ headers: [{ name: "x user", exact: "a" }] }), ["spec.rules[0].match.headers[0].name: must be a valid HTTP header name (RFC 9110 token, no ':' pseudo-headers)"]],
  ["too many header matchers", withMatch({ headers: Array.from({ length: 17 }, (_, i) => ({ name: `h${i}`, present: true })) }), ["spec.rules[0].match.headers: must have at most 16 entries (got 17)"]],
  ["too many query matchers", withMatch({ query_params: Array.from({ length: 17 }, (_, i) => ({ name: `q${i}`, present: true })) }), ["spec.rules[0].match.query_params: must have at most 16 entries (got 17)"]],
  ["name with uppercase", { ...base(), metadata: { name: "Frontend" } }, ["metadata.name: must be a lowercase RFC 1123 label (a-z, 0-9 and '-', starting and ending with a letter or digit)"]],
  ["name with underscore", { ...base(), metadata: { name: "front_end" } }, ["metadata.name: must be a lowercase RFC 1123 label (a-z, 0-9 and '-', starting and ending with a letter or digit)"]],
  ["name ending in a dash", { ...base(), metadata: { name: "front-" } }, ["metadata.name: must be a lowercase RFC 1123 label (a-z, 0-9 and '-', starting and ending with a letter or digit)"]],
  ["name too long", { ...base(), metadata: { name: "a".repeat(64) } }, ["metadata.name: must be at most 63 characters"]],
  ["name missing", { ...base(), metadata: {} }, ["metadata.name: is required"]],
  ["metadata missing", { spec: base().spec }, ["metadata: is required"]],
  ["metadata not an object", { ...base(), metadata: "p" }, ["metadata: must be an object"]],
  ["spec missing", { metadata: { name: "p" } }, ["spec: is required"]],
  ["no rules", { ...base(), spec: { rules: [] } }, ["spec.rules: must have at least one rule"]],
  ["rules not a list", { ...base(), spec: { rules: { fault: {} } } }, ["spec.rules: must be a list"]],
  ["rule without fault", { ...base(), spec: { rules: [{ match: { path: { prefix: "/" } } }] } }, ["spec.rules[0].fault: is required"]],
  ["too many rules", { ...base(), spec: { rules: Array.from({ length: 33 }, () => ({ fault: { percentage: 1, delay_ms: 1 } })) } }, ["spec.rules: must have at most 32 rules (got 33)"]],
  ["unknown top-level field", { ...base(), kind: "Policy" }, ["kind: unknown field"]],
  ["unknown field in fault", withFault({ percentage: 5, delay_ms: 5, foo: 1 }), ["spec.rules[0].fault.foo: unknown field"]],
  ["unknown field in selector", { ...base(), spec: { ...base().spec, selector: { app: "x" } } }, ["spec.selector.app: unknown field"]],
  ["unknown field in a header match", withMatch({ headers: [{ name: "x", exact: "a", ignore_case: true }] }), ["spec.rules[0].match.headers[0].ignore_case: unknown field"]],
  ["wrong type: string for object", withMatch({ path: "/api" }), ["spec.rules[0].match.path: must be an object"]],
  ["wrong type: number for string", withMatch({ method: { exact: 1 } }), ["spec.rules[0].match.method.exact: must be a string"]],
  ["wrong type: present not boolean", withMatch({ headers: [{ name: "x", present: "yes" }] }), ["spec.rules[0].match.headers[0].present: must be true or false"]],
  ["selector namespace not a label", { ...base(), spec: { ...base().spec, selector: { namespace: "Demo" } } }, ['spec.selector.namespace: must be "*" or an RFC 1123 label (a-z, 0-9, \'-\', at most 63 characters)']],
  ["selector service with a slash", { ...base(), spec: { ...base().spec, selector: { service: "a/b" } } }, ['spec.selector.service: must be "*" or a workload name (letters, digits, \'-\', \'_\', \'.\', at most 253 characters)']],
  ["too many labels", { ...base(), metadata: { name: "p", labels: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`l${i}`, "v"])) } }, ["metadata.labels: must have at most 16 entries (got 17)"]],
  ["bad label key", { ...base(), spec: { ...base().spec, selector: { labels: { "bad key": "v" } } } }, ['spec.selector.labels["bad key"]: invalid label key: the name must be 1-63 characters of letters, digits, \'-\', \'_\', \'.\', starting and ending with a letter or digit']],
  ["label value not a string", { ...base(), metadata: { name: "p", labels: { app: 1 } } }, ['metadata.labels["app"]: must be a string']],
  ["not an object", ["p"], ["policy: must be an object"]],
  ["prototype keys are plain data", JSON.parse('{"metadata":{"name":"p","labels":{"__proto__":"x"}},"spec":{"rules":[{"fault":{"delay_ms":1}}]},"__proto__":{}}'), ["__proto__: unknown field", 'metadata.labels["__proto__"]: invalid label key: the name must be 1-63 characters of letters, digits, \'-\', \'_\', \'.\', starting and ending with a letter or digit']],
  ["odd unknown key", { ...base(), spec: { ...base().spec, "my key": 1 } }, ['spec["my key"]: unknown field']],
];

test(`${BAD.length} bad inputs are rejected with exact messages`, () => {
  assert.ok(BAD.length >= 35);
  for (const [what, input, expected] of BAD) {
    assert.equal(errorsOf(input), expected, what);
  }
});

test("oversize policy is rejected on its encoded size", () => {
  const big = "v".repeat(4000);
  const p = base();
  p.spec.rules = Array.from({ length: 17 }, () => ({ match: { path: { exact: big } }, fault: { percentage: 1, delay_ms: 1 } }));
  assert.equal(errorsOf(p), ["policy: encoded size 69518 bytes exceeds the limit of 65536 bytes (64 KiB)"]);
  p.spec.rules.length = 16;
  const fine = ok(p);
  assert.ok(encodedSize(fine) <= 65536);
});

test("every error is reported, not just the first", () => {
  const errs = errorsOf({
    metadata: { name: "Bad_Name", extra: 1 },
    spec: {
      rules: [
        { fault: { percentage: 150, abort: { http_status: 700 } } },
        { match: { path: { regex: "a++" } }, fault: { delay_ms: -1 } },
      ],
    },
  });
  assert.equal(errs, [
    "metadata.extra: unknown field",
    "spec.rules[1].fault.delay_ms: must be a non-negative integer",
    "metadata.name: must be a lowercase RFC 1123 label (a-z, 0-9 and '-', starting and ending with a letter or digit)",
    "spec.rules[0].fault.percentage: must be between 0 and 100",
    "spec.rules[0].fault.abort.http_status: must be between 200 and 599",
    "spec.rules[1].match.path.regex: possessive quantifiers (*+, ++, ?+) are not supported",
  ]);
});

test("malformed YAML and JSON name the line", () => {
  const y = parsePolicyDocuments("metadata: {name: a}\nspec:\n  rules: [\n", "bad.yaml");
  assert.is(y.length, 1);
  assert.not.ok(y[0]!.ok);
  const yErr = (y[0] as { errors: { path: string; reason: string }[] }).errors[0]!;
  assert.is(yErr.path, "document");
  assert.match(yErr.reason, /^invalid YAML at line 4, column 1: Flow sequence in block collection must be sufficiently indented/);

  const dup = parsePolicyDocuments("metadata: {name: a}\nmetadata: {name: b}\n");
  assert.equal((dup[0] as { errors: unknown[] }).errors, [
    { path: "document", reason: "invalid YAML at line 2, column 1: Map keys must be unique" },
  ]);

  const j = parsePolicyDocuments('{\n  "metadata": {"name": "a"},\n  "spec": {"rules": [}\n}', "bad.json");
  assert.equal((j[0] as { errors: unknown[] }).errors, [
    { path: "document", reason: 'invalid JSON at line 3, column 22: expected a value, unexpected "}"' },
  ]);
  const j2 = parsePolicyDocuments('{"metadata": {"name": "a"} "spec": {}}');
  assert.equal((j2[0] as { errors: unknown[] }).errors, [
    { path: "document", reason: 'invalid JSON at line 1, column 28: expected \',\' or \'}\', unexpected "\\""' },
  ]);
  // What YAML accepts (a trailing comma) is accepted.
  assert.equal((parsePolicyDocuments('{"metadata": {"name": "a"}, }')[0] as { errors: unknown[] }).errors, [{ path: "spec", reason: "is required" }]);
});

test("absurd nesting is rejected before it reaches the parsers (no stack overflow)", () => {
  const errs = (text: string) => parsePolicyDocuments(text).flatMap((d) => (d.ok ? [] : d.errors.map((e) => `${e.path}: ${e.reason}`)));
  assert.equal(errs("[".repeat(100_000)), ["document: too deep at line 1, column 65: nested more than 64 levels deep"]);
  assert.equal(errs(`{"a": ${"[".repeat(70)}1${"]".repeat(70)}}`), ["document: too deep at line 1, column 70: nested more than 64 levels deep"]);
  assert.equal(errs("a:\n" + " ".repeat(300) + "b: 1"), ["document: too deep at line 2, column 257: indented more than 256 columns"]);
  // Brackets inside quoted strings do not count.
  assert.equal(errs(`{"metadata": {"name": "${"[".repeat(100)}"}}`)[0], "metadata.name: must be at most 63 characters");
  // Whatever the YAML parser gives up on is an error, not an exception, and the list is capped.
  const many = errs("a: " + "b: ".repeat(5000));
  assert.ok(many.length <= 11 && many.length > 0);
  assert.ok(errs("- ".repeat(20_000) + "x").length > 0);
});

test("multi-document files: per-document results, empty documents skipped, list wrappers unwrapped", () => {
  const text = `---
metadata: {name: one}
spec: {rules: [{fault: {delay_ms: 1, percentage: 1}}]}
---
# only a comment
---
metadata: {name: Two}
spec: {rules: [{fault: {delay_ms: 1, percentage: 1}}]}
---
- metadata: {name: three}
  spec: {rules: [{fault: {delay_ms: 1, percentage: 1}}]}
- metadata: {name: four}
  spec: {rules: [{fault: {delay_ms: 1, percentage: 1}}]}
`;
  const docs = parsePolicyDocuments(text, "multi.yaml");
  assert.equal(
    docs.map((d) => [d.index, d.line, d.ok]),
    [
      [0, 1, true],
      [1, 6, false],
      [2, 9, true],
      [3, 9, true],
    ],
  );
  assert.equal((docs[1] as { errors: { path: string }[] }).errors.map((e) => e.path), ["metadata.name"]);

  const json = JSON.stringify({ policies: [base(), { ...base(), metadata: { name: "q" } }], revision: 7 });
  assert.equal(
    parsePolicyDocuments(json).map((d) => d.ok && d.policy.metadata!.name),
    ["p", "q"],
  );
  assert.equal(parsePolicyDocuments(JSON.stringify({ policy: base() })).length, 1);
  // YAML flow style starts with "{" too.
  const flow = parsePolicyDocuments("{metadata: {name: flow}, spec: {rules: [{fault: {delay_ms: 5, percentage: 1}}]}}");
  assert.equal(flow.map((d) => d.ok && d.policy.metadata!.name), ["flow"]);
  assert.equal(parsePolicyDocuments(""), []);
});

test("policyExpiry: longest duration only when every rule has one", () => {
  const p = ok({
    ...base(),
    spec: {
      rules: [
        { fault: { percentage: 1, delay_ms: 1, duration_seconds: 30 } },
        { fault: { percentage: 1, delay_ms: 1, duration_seconds: 300 } },
      ],
    },
  });
  assert.is(policyExpiry(p), 300);
  p.spec!.rules[1]!.fault!.durationSeconds = 0;
  assert.is(policyExpiry(p), undefined);
});

// ---- regex subset ----

const REGEX_REJECTED: [string, string][] = [
  ["(a)\\1", "backreferences are not supported (linear-time subset)"],
  ["(?=a)", "lookahead and lookbehind are not supported (linear-time subset)"],
  ["(?!a)", "lookahead and lookbehind are not supported (linear-time subset)"],
  ["(?<=a)b", "lookahead and lookbehind are not supported (linear-time subset)"],
  ["(?<!a)b", "lookahead and lookbehind are not supported (linear-time subset)"],
  ["(?<id>a)", "named groups are not supported (use (...) or (?:...))"],
  ["(?P<id>a)", "named groups are not supported (use (...) or (?:...))"],
  ["(?>a)", "atomic groups are not supported"],
  ["(?i)abc", "inline flags such as (?i) are not supported"],
  ["a*+", "possessive quantifiers (*+, ++, ?+) are not supported"],
  ["a++", "possessive quantifiers (*+, ++, ?+) are not supported"],
  ["a?+", "possessive quantifiers (*+, ++, ?+) are not supported"],
  ["\\bword", "word boundaries (\\b, \\B) are not supported"],
  ["\\B", "word boundaries (\\b, \\B) are not supported"],
  ["\\p{L}", "Unicode classes (\\p, \\P) are not supported"],
  ["\\u00e9", "\\u escapes are not supported (write the character itself)"],
  ["\\x41", "\\x escapes are not supported (write the character itself)"],
  ["\\z", "unsupported escape \\z"],
  ["abc\\", "trailing backslash"],
  ["(ab", "unbalanced parentheses: missing ')'"],
  ["ab)", "unbalanced parentheses: unexpected ')'"],
  ["[ab", "unbalanced brackets: missing ']'"],
  ["ab]", "unbalanced brackets: unexpected ']' (escape it as \\])"],
  ["*a", "nothing to repeat"],
  ["a|*", "nothing to repeat"],
  ["^*", "nothing to repeat"],
  ["{2}", "nothing to repeat"],
  ["a**", "nested quantifier: wrap the repeated part in (?:...) first"],
  ["a{101}", "repetition count must be at most 100"],
  ["a{2,101}", "repetition count must be at most 100"],
  ["a{5,2}", "invalid repetition range {5,2}"],
  ["[z-a]", "invalid class range z-a"],
  ["[\\d-z]", "invalid class range (a class escape cannot be a range end)"],
  ["[é]", "non-ASCII characters in classes are not supported"],
  ["((a{50}){50})", "pattern is too complex (expands to more than 2000 NFA states)"],
  ["x".repeat(257), "must be at most 256 characters"],
];

test("regex subset: rejected constructs say why", () => {
  for (const [src, reason] of REGEX_REJECTED) assert.is(hfiRegexError(src), reason, src);
});

const REGEX_CASES: [string, string, boolean][] = [
  ["abc", "xxabcxx", true],
  ["^abc", "xabc", false],
  ["abc$", "abcx", false],
  ["^/v[0-9]+/items$", "/v12/items", true],
  ["^/v[0-9]+/items$", "/v/items", false],
  ["^/v[0-9]+/items$", "/v1/items/", false],
  ["^(?:GET|HEAD)$", "HEAD", true],
  ["^(GET|HEAD)$", "POST", false],
  ["^a{2,3}$", "aaa", true],
  ["^a{2,3}$", "aaaa", false],
  ["^a{2,}$", "aaaaaaa", true],
  ["^a{2}$", "a", false],
  ["^a*?b+?c??$", "aabbc", true],
  ["[^/]+\\.json$", "/a/b.json", true],
  ["\\d\\D\\w\\W\\s\\S", "1a_ \t ", false],
  ["\\d\\D\\w\\W\\s\\S", "1a_- x", true],
  ["^\\$\\^\\.\\*\\[\\]\\(\\)\\{\\}\\|\\?\\+\\\\$", "$^.*[](){}|?+\\", true],
  ["^[]a]+$", "]a]", true],
  ["^[a-]+$", "a-a", true],
  ["^.$", "\n", false],
  ["^[^a]$", "\n", true],
  ["^é+$", "éé", true],
  ["^.$", "é", false], // one byte; é is two
  ["^..$", "é", true],
  ["^$", "", true],
  ["", "anything", true],
  ["a|", "zzz", true],
  ["^(a|ab)(c|bcd)(d*)$", "abcd", true],
  ["^(a*)*b$", "a".repeat(5000) + "c", false], // linear, no blow-up
  ["x{", "ax{", true], // "{" not followed by a count is a literal
  ["\\t\\n\\r", "a\t\n\rb", true],
];

test("compileHfiRegex: search semantics over UTF-8 bytes", () => {
  for (const [src, input, expected] of REGEX_CASES) {
    assert.is(compileHfiRegex(src).test(input), expected, `${src} on ${JSON.stringify(input.slice(0, 20))}`);
  }
  // Bytes are accepted directly too.
  assert.ok(compileHfiRegex("^\\x?a$".replace("\\x?", "")).test(new TextEncoder().encode("a")));
});

test("compileHfiRegex agrees with a backtracking engine on ASCII (property)", () => {
  // JS RegExp is only the oracle here: same semantics on ASCII without newlines.
  const patterns = [
    "a(b|c)*d",
    "^[a-c]{1,3}d?$",
    "(ab|a)(bc|c)",
    "^(a|b)*?c",
    "[^ab]+$",
    "a.c",
    "^((a|b)(c|d)?)+$",
    "(a?){3}b",
    "\\w+\\s\\d",
    "b{2,}|^c",
  ];
  fc.assert(
    fc.property(fc.constantFrom(...patterns), fc.stringMatching(/^[abcd \d_x]{0,12}$/), (p, s) => {
      return compileHfiRegex(p).test(s) === new RegExp(p).test(s);
    }),
    { numRuns: 3000 },
  );
});

test.run();
