// The old control plane's REST contract on HFI (server/http/legacy). Every
// expected body below is written from the old Go code in
// kalahetun/Minesweeper executor/control-plane (not from HFI's output):
//   storage/types.go      FaultInjectionPolicy and its fields (json tags,
//                         omitempty, declaration order = key order);
//                         DelayAction.fixed_delay_ms from specs/010-fix-wasm-delay-bug
//   api/policy_controller.go  status codes and gin.H bodies (keys sorted, as Go marshals maps)
//   api/middleware.go     ErrorResponse {error, message, details, code}
//   service/policy_service.go, service/validator.go  which request fails how
//   main.go               routes, /v1/health, /v1/ready
// Bodies are compared byte for byte: Go's json.Marshal (no trailing newline,
// <>& escaped).
import { httpRequest } from "../support/http.ts";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PolicyClient, startTestServer, type TestServer } from "../support/server.ts";
import { oldPluginParseError } from "./legacy/old-plugin-serde.ts";

const req = httpRequest;

// What the old hfi-cli sends (json.Marshal of executor/cli/types/policy.go: metadata has only name).
const delayPolicy = {
  metadata: { name: "delay-demo" },
  spec: { selector: { service: "frontend", namespace: "demo" }, rules: [{ match: { path: { prefix: "/" } }, fault: { percentage: 100, delay: { fixed_delay_ms: 500 } } }] },
};
// storage/types.go: metadata.version has no omitempty (""), selector omitempty pointer, percentage always.
const DELAY_GOLDEN =
  '{"metadata":{"name":"delay-demo","version":""},"spec":{"selector":{"service":"frontend","namespace":"demo"},"rules":[{"match":{"path":{"prefix":"/"}},"fault":{"percentage":100,"delay":{"fixed_delay_ms":500}}}]}}';

const abortPolicy = (name: string, version?: string) => ({
  metadata: version === undefined ? { name } : { name, version },
  spec: { rules: [{ match: { method: { exact: "GET" }, headers: [{ name: "x-user", exact: "test" }] }, fault: { percentage: 0, start_delay_ms: 200, duration_seconds: 60, abort: { httpStatus: 503 } } }] },
});
const abortGolden = (name: string, version = "") =>
  `{"metadata":{"name":"${name}","version":"${version}"},"spec":{"rules":[{"match":{"method":{"exact":"GET"},"headers":[{"name":"x-user","exact":"test"}]},"fault":{"percentage":0,"start_delay_ms":200,"duration_seconds":60,"abort":{"httpStatus":503}}}]}}`;

// api/middleware.go, errors.Is(err, storage.ErrNotFound).
const NOT_FOUND = '{"error":"not_found","message":"The requested resource was not found","details":{"resource":"policy"}}';

test("POST /v1/policies: 201 with the policy as Go marshals it, re-POST 201 again, unknown fields ignored", async () => {
  const s = await startTestServer();
  try {
    const r = await req(s, "POST", "/v1/policies", delayPolicy);
    assert.is(r.status, 201);
    assert.is(r.headers.get("content-type"), "application/json; charset=utf-8");
    assert.is(r.text, DELAY_GOLDEN);
    // CreateOrUpdate answers 201 whether or not the policy existed.
    const again = await req(s, "POST", "/v1/policies", delayPolicy);
    assert.is(again.status, 201);
    assert.is(again.text, DELAY_GOLDEN);
    // encoding/json ignores fields the structs do not have (and matches names case-insensitively).
    const extra = { ...delayPolicy, kind: "FaultInjectionPolicy", spec: { ...delayPolicy.spec, priority: 5, rules: [{ ...delayPolicy.spec.rules[0], comment: "x" }] }, Metadata: undefined };
    const e = await req(s, "POST", "/v1/policies", extra);
    assert.is(e.status, 201, e.text);
    assert.is(e.text, DELAY_GOLDEN);
    const got = await req(s, "GET", "/v1/policies/delay-demo");
    assert.is(got.status, 200);
    assert.is(got.text, DELAY_GOLDEN);
  } finally {
    await s.close();
  }
});

test("GET /v1/policies: {\"policies\": [...]} sorted by name, zero percentage and every non-omitempty field present", async () => {
  const s = await startTestServer();
  try {
    assert.is((await req(s, "GET", "/v1/policies")).text, '{"policies":[]}');
    assert.is((await req(s, "POST", "/v1/policies", abortPolicy("zero-abort"))).status, 201);
    assert.is((await req(s, "POST", "/v1/policies", delayPolicy)).status, 201);
    const list = await req(s, "GET", "/v1/policies");
    assert.is(list.status, 200);
    assert.is(list.text, `{"policies":[${DELAY_GOLDEN},${abortGolden("zero-abort")}]}`);
    // The old plugin parses it (and HFI's own JSON it could not: camelCase, percentage left out at 0).
    assert.is(oldPluginParseError(list.text), undefined);
    const hfiJson = JSON.stringify({ policies: [{ metadata: { name: "d" }, spec: { rules: [{ match: {}, fault: { percentage: 100, delay: { fixedDelayMs: 500 } } }] } }] });
    assert.match(oldPluginParseError(hfiJson) ?? "", /missing field `fixed_delay_ms`/);
    assert.match(oldPluginParseError(JSON.stringify({ policies: [{ metadata: { name: "d" }, spec: { rules: [{ match: {}, fault: { abort: { httpStatus: 503 } } }] } }] })) ?? "", /missing field `percentage`/);
    assert.match(oldPluginParseError(JSON.stringify({ policies: [{ metadata: { name: "d" }, spec: { rules: [{ match: {}, fault: { percentage: 12.5 } }] } }] })) ?? "", /invalid type: floating point `12.5`, expected u32/);
    assert.match(oldPluginParseError(JSON.stringify({ policies: [{ metadata: { name: "d" }, spec: { rules: null } }] })) ?? "", /invalid type: null, expected a sequence/);
  } finally {
    await s.close();
  }
});

test("metadata.version: a semver string is accepted and kept as the version label, apart from the store revision", async () => {
  const s = await startTestServer();
  const c = new PolicyClient(s.grpcAddress);
  try {
    const r = await req(s, "POST", "/v1/policies", abortPolicy("versioned", "1.0.0"));
    assert.is(r.status, 201, r.text);
    assert.is(r.text, abortGolden("versioned", "1.0.0"));
    assert.is((await req(s, "GET", "/v1/policies/versioned")).text, abortGolden("versioned", "1.0.0"));
    const g = (await c.get("versioned")).policy!.metadata!;
    assert.is(g.versionLabel, "1.0.0");
    assert.ok(Number(g.version) > 0, "the store revision stays HFI's version");
  } finally {
    c.close();
    await s.close();
  }
});

test("POST /v1/policies/create: 201 {message, policy}, 409 on a duplicate, the old name and semver checks", async () => {
  const s = await startTestServer();
  try {
    const r = await req(s, "POST", "/v1/policies/create", abortPolicy("created", "1.0.0"));
    assert.is(r.status, 201, r.text);
    assert.is(r.text, `{"message":"policy created successfully","policy":${abortGolden("created", "1.0.0")}}`);
    const dup = await req(s, "POST", "/v1/policies/create", abortPolicy("created", "1.0.0"));
    assert.is(dup.status, 409);
    assert.is(dup.text, '{"error":"resource_already_exists","message":"The resource already exists","details":{"resource":"policy"}}');
    // validatePolicyVersion: DetailedError → middleware: message, details and code from it.
    const noVersion = await req(s, "POST", "/v1/policies/create", abortPolicy("no-version"));
    assert.is(noVersion.status, 400);
    assert.is(noVersion.text, '{"error":"invalid_input","message":"policy version is required","details":{"field":"metadata.version"},"code":"validation_error"}');
    const badVersion = await req(s, "POST", "/v1/policies/create", abortPolicy("bad-version", "1.0"));
    assert.is(
      badVersion.text,
      '{"error":"invalid_input","message":"policy version must follow semantic versioning (x.y.z)","details":{"expected_format":"x.y.z","field":"metadata.version","value":"1.0"},"code":"validation_error"}',
    );
    const short = await req(s, "POST", "/v1/policies/create", abortPolicy("ab", "1.0.0"));
    assert.is(short.text, '{"error":"invalid_input","message":"policy name too short","details":{"actual_length":2,"field":"metadata.name","min_length":3},"code":"validation_error"}');
    assert.is((await req(s, "GET", "/v1/policies/no-version")).status, 404, "nothing stored by the failures");
  } finally {
    await s.close();
  }
});

test("PUT /v1/policies/:id: 400 on a missing name, version must increase, 200 {message, policy}", async () => {
  const s = await startTestServer();
  try {
    // validatePolicyForUpdate's DetailedError joined with ErrInvalidInput → Update's {"details": err.Error(), "error": "invalid policy"}.
    const missing = await req(s, "PUT", "/v1/policies/ghost", abortPolicy("ghost", "1.0.0"));
    assert.is(missing.status, 400);
    assert.is(missing.text, '{"details":"invalid input\\nvalidation_error: cannot update non-existent policy","error":"invalid policy"}');
    assert.is((await req(s, "GET", "/v1/policies/ghost")).status, 404, "PUT never creates");

    assert.is((await req(s, "POST", "/v1/policies", abortPolicy("upd", "1.0.0"))).status, 201);
    const same = await req(s, "PUT", "/v1/policies/upd", abortPolicy("upd", "1.0.0"));
    assert.is(same.status, 400);
    assert.is(same.text, '{"details":"invalid input\\nvalidation_error: version must be incremented for updates","error":"invalid policy"}');
    const lower = await req(s, "PUT", "/v1/policies/upd", abortPolicy("upd", "0.9.9"));
    assert.is(lower.text, '{"details":"invalid input\\nvalidation_error: new version must be greater than old version","error":"invalid policy"}');
    const ok = await req(s, "PUT", "/v1/policies/upd", abortPolicy("upd", "1.0.1"));
    assert.is(ok.status, 200, ok.text);
    assert.is(ok.text, `{"message":"policy updated successfully","policy":${abortGolden("upd", "1.0.1")}}`);
    assert.is((await req(s, "GET", "/v1/policies/upd")).text, abortGolden("upd", "1.0.1"));
    const mismatch = await req(s, "PUT", "/v1/policies/other", abortPolicy("upd", "1.0.2"));
    assert.is(mismatch.status, 400);
    assert.is(mismatch.text, '{"error":"policy name in URL must match policy name in body"}');
  } finally {
    await s.close();
  }
});

test("GET/DELETE: 404 not_found body, DELETE 200 {message}", async () => {
  const s = await startTestServer();
  try {
    const missing = await req(s, "GET", "/v1/policies/nope");
    assert.is(missing.status, 404);
    assert.is(missing.text, NOT_FOUND);
    // A name HFI could not store does not exist either (old: not in the store → 404).
    assert.is((await req(s, "GET", "/v1/policies/Bad_Name")).text, NOT_FOUND);
    assert.is((await req(s, "POST", "/v1/policies", delayPolicy)).status, 201);
    const del = await req(s, "DELETE", "/v1/policies/delay-demo");
    assert.is(del.status, 200);
    assert.is(del.text, '{"message":"policy deleted successfully"}');
    const again = await req(s, "DELETE", "/v1/policies/delay-demo");
    assert.is(again.status, 404);
    assert.is(again.text, NOT_FOUND);
  } finally {
    await s.close();
  }
});

test("bad bodies: gin's bind error and the old validator's 400", async () => {
  const s = await startTestServer();
  try {
    const wrongType = await req(s, "POST", "/v1/policies", { metadata: { name: "x" }, spec: { rules: [{ match: {}, fault: { percentage: "10" } }] } });
    assert.is(wrongType.status, 400);
    assert.is(wrongType.text, '{"error":"invalid request body: json: cannot unmarshal string into Go struct field FaultAction.spec.rules.fault.percentage of type int"}');
    const fraction = await req(s, "POST", "/v1/policies", { metadata: { name: "x" }, spec: { rules: [{ match: {}, fault: { percentage: 12.5 } }] } });
    assert.is(fraction.text, '{"error":"invalid request body: json: cannot unmarshal number 12.5 into Go struct field FaultAction.spec.rules.fault.percentage of type int"}');
    assert.is((await req(s, "POST", "/v1/policies", "")).text, '{"error":"invalid request body: EOF"}');
    assert.is((await req(s, "POST", "/v1/policies", "[]")).text, '{"error":"invalid request body: json: cannot unmarshal array into Go value of type storage.FaultInjectionPolicy"}');
    // ValidatePolicy → errors.Join(ErrInvalidInput, ValidationError) → the middleware's invalid_input (details name the field).
    const noMatch = await req(s, "POST", "/v1/policies", { metadata: { name: "x" }, spec: { rules: [{ fault: { percentage: 10, abort: { httpStatus: 503 } } }] } });
    assert.is(noMatch.status, 400);
    assert.is(
      noMatch.text,
      '{"error":"invalid_input","message":"The provided input is invalid","details":{"field":"spec.rules[0].match","validation_message":"at least one match condition is required"}}',
    );
    // HFI's own checks after the old ones, same shape.
    const hfiRule = await req(s, "POST", "/v1/policies", { metadata: { name: "x" }, spec: { rules: [{ match: { path: { prefix: "/" } }, fault: { percentage: 10, abort: { httpStatus: 999 } } }] } });
    assert.is(hfiRule.status, 400);
    assert.match(hfiRule.text, /^\{"error":"invalid_input","message":"The provided input is invalid","details":\{"field":"spec\.rules\[0\]\.fault\.abort\.http_status","validation_message":"/);
    assert.is((await req(s, "GET", "/v1/policies")).text, '{"policies":[]}', "nothing stored");
  } finally {
    await s.close();
  }
});

test("probes, unknown routes and methods, Go's HTML escaping", async () => {
  const s = await startTestServer();
  try {
    const h = await req(s, "GET", "/v1/health");
    assert.is(h.text, '{"status":"healthy"}');
    const r = await req(s, "GET", "/v1/ready");
    assert.is(r.status, 200);
    assert.is(r.text, '{"status":"ready","storage":"embedded"}');
    // gin without HandleMethodNotAllowed: 404 text/plain for both.
    for (const [m, p] of [["PATCH", "/v1/policies/x"], ["GET", "/v1/things"], ["DELETE", "/v1/policies"]] as const) {
      const nf = await req(s, m, p);
      assert.is(nf.status, 404, `${m} ${p}`);
      assert.is(nf.text, "404 page not found");
      assert.is(nf.headers.get("content-type"), "text/plain");
    }
    const p = await req(s, "POST", "/v1/policies", { metadata: { name: "esc" }, spec: { rules: [{ match: { path: { prefix: "/a&b<c>" } }, fault: { percentage: 1, abort: { httpStatus: 500 } } }] } });
    assert.is(p.status, 201, p.text);
    assert.ok(p.text.includes('"prefix":"/a\\u0026b\\u003cc\\u003e"'), p.text);
    // HFI's own probes are unchanged.
    assert.is((await req(s, "GET", "/healthz")).text, '{"status":"ok"}\n');
  } finally {
    await s.close();
  }
});

test("policies written over gRPC with what the old structs cannot carry: narrowed, or left out of the list when that would widen them", async () => {
  const s = await startTestServer();
  const c = new PolicyClient(s.grpcAddress);
  try {
    await c.apply({
      policy: {
        metadata: { name: "rich" },
        spec: {
          priority: 7,
          rules: [{ match: { path: { prefix: "/p" }, headers: [{ name: "x-a", present: true }] }, fault: { percentage: 12.5, abort: { httpStatus: 503, body: "no", grpcStatus: 14 } } }],
        },
      },
    });
    await c.apply({ policy: { metadata: { name: "wide" }, spec: { rules: [{ match: { queryParams: [{ name: "debug", exact: "1" }] }, fault: { percentage: 100, abort: { httpStatus: 500 } } }] } } });
    const list = await req(s, "GET", "/v1/policies");
    // Header present → name only (the old plugin's presence check); 12.5 % rounds to 13 (Go int, Rust u32).
    assert.is(list.text, '{"policies":[{"metadata":{"name":"rich","version":""},"spec":{"rules":[{"match":{"path":{"prefix":"/p"},"headers":[{"name":"x-a"}]},"fault":{"percentage":13,"abort":{"httpStatus":503}}}]}}]}');
    assert.is(list.headers.get("hfi-legacy-omitted"), "wide");
    assert.is(oldPluginParseError(list.text), undefined);
  } finally {
    c.close();
    await s.close();
  }
});

test("?dry_run takes only true/false: anything else is 400 naming it, and nothing is written", async () => {
  const s = await startTestServer();
  try {
    for (const v of ["1", "yes", "maybe", "", "TRUE"]) {
      const r = await req(s, "POST", `/v1/policies?dry_run=${v}`, delayPolicy);
      assert.is(r.status, 400, v);
      assert.is(r.text, `{"error":"dry_run: must be \\"true\\" or \\"false\\", got ${JSON.stringify(JSON.stringify(v)).slice(1, -1)}"}`);
    }
    assert.is((await req(s, "POST", "/v1/policies?dryRun=1", delayPolicy)).status, 400);
    assert.is((await req(s, "GET", "/v1/policies")).text, '{"policies":[]}', "no write from a refused dry run");
    const dry = await req(s, "POST", "/v1/policies?dry_run=true", delayPolicy);
    assert.is(dry.status, 201);
    assert.is((await req(s, "GET", "/v1/policies")).text, '{"policies":[]}', "dry_run=true stores nothing");
    assert.is((await req(s, "POST", "/v1/policies?dry_run=false", delayPolicy)).status, 201);
    assert.is((await req(s, "GET", "/v1/policies/delay-demo")).status, 200);
    assert.is((await req(s, "DELETE", "/v1/policies/delay-demo?expected_version=abc")).status, 400);
  } finally {
    await s.close();
  }
});

test("malformed percent-encoding in a path is 400, never 500; nothing is touched", async () => {
  const s = await startTestServer();
  try {
    assert.is((await req(s, "POST", "/v1/policies", delayPolicy)).status, 201);
    for (const [m, p] of [["DELETE", "/v1/policies/%zz"], ["GET", "/v1/policies/%zz"], ["PUT", "/v1/policies/%zz"], ["GET", "/v1/policies/%E0%A4%A"], ["GET", "/%zz"]] as const) {
      const r = await req(s, m, p, m === "PUT" ? delayPolicy : undefined);
      assert.is(r.status, 400, `${m} ${p}: ${r.text}`);
      assert.match(JSON.parse(r.text).error, /^malformed percent-encoding in the request path/);
    }
    assert.is((await req(s, "GET", "/v1/policies/delay-demo")).status, 200);
  } finally {
    await s.close();
  }
});

test("auth: the old routes need the bearer token when one is set, probes do not", async () => {
  const s = await startTestServer({ apiToken: "t0ken", streamToken: "str3am" });
  try {
    const r = await req(s, "GET", "/v1/policies");
    assert.is(r.status, 401);
    assert.is(r.text, '{"error":"missing bearer token (authorization: Bearer \\u003ctoken\\u003e)"}');
    assert.is((await req(s, "POST", "/v1/policies", delayPolicy, { authorization: "Bearer t0ken" })).status, 201);
    for (const p of ["/v1/health", "/v1/ready"]) assert.is((await req(s, "GET", p)).status, 200, p);
  } finally {
    await s.close();
  }
});

test.run();
