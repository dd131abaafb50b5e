// HFI's own JSON on the HTTP port: hfi.v1.PolicyService over Connect's unary
// JSON protocol (server/http/connect.ts), through the gRPC service's own
// handlers: same contract, same errors, same auth.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { httpRequest } from "../support/http.ts";
import { PolicyClient, startTestServer, type TestServer } from "../support/server.ts";

function call(s: TestServer, method: string, body: unknown, headers: Record<string, string> = {}, httpMethod = "POST") {
  return httpRequest(s, httpMethod, `/hfi.v1.PolicyService/${method}`, httpMethod === "GET" ? undefined : body, { "content-type": "application/json", ...headers });
}

const policy = (name: string, pct = 10) => ({
  metadata: { name },
  spec: { selector: { service: "web" }, rules: [{ match: { path: { prefix: "/api" } }, fault: { percentage: pct, delay: { fixed_delay_ms: 200 } } }] },
});

test("ApplyPolicy / GetPolicy / ListPolicies / DeletePolicy / GetPolicyStatus in proto3 JSON, shared with gRPC", async () => {
  const s = await startTestServer();
  const c = new PolicyClient(s.grpcAddress);
  try {
    const created = await call(s, "ApplyPolicy", { policy: policy("c-a") });
    assert.is(created.status, 200, created.text);
    assert.is(created.headers.get("content-type"), "application/json");
    assert.is(created.json.result, "APPLY_RESULT_CREATED");
    assert.is(created.json.policy.spec.rules[0].fault.delay.fixedDelayMs, 200);
    assert.ok(created.json.policy.metadata.version > 0);
    assert.is((await call(s, "ApplyPolicy", { policy: policy("c-a") })).json.result, "APPLY_RESULT_UNCHANGED");
    assert.is((await call(s, "ApplyPolicy", { policy: policy("c-a", 30), expected_version: created.json.policy.metadata.version })).json.result, "APPLY_RESULT_CONFIGURED");
    assert.is((await c.get("c-a")).policy!.spec!.rules[0]!.fault!.percentage, 30);
    const got = await call(s, "GetPolicy", { name: "c-a" });
    assert.is(got.json.policy.metadata.name, "c-a");
    const list = await call(s, "ListPolicies", {});
    assert.equal(list.json.policies.map((p: any) => p.metadata.name), ["c-a"]);
    assert.ok(list.json.revision > 0);
    const status = await call(s, "GetPolicyStatus", { name: "c-a" });
    assert.is(status.json.policies[0].ruleCount, 1);
    const del = await call(s, "DeletePolicy", { name: "c-a" });
    assert.is(del.status, 200);
    assert.is(del.json.policy.metadata.name, "c-a");
    const missing = await call(s, "GetPolicy", { name: "c-a" });
    assert.is(missing.status, 404);
    assert.equal(missing.json, { code: "not_found", message: 'policy "c-a" not found' });
  } finally {
    c.close();
    await s.close();
  }
});

test("Connect errors: {code, message} with Connect's HTTP statuses; field errors in hfi-field-errors", async () => {
  const s = await startTestServer();
  try {
    const invalid = await call(s, "ApplyPolicy", { policy: policy("bad", 101) });
    assert.is(invalid.status, 400);
    assert.equal(invalid.json, { code: "invalid_argument", message: "spec.rules[0].fault.percentage: must be between 0 and 100" });
    assert.equal(JSON.parse(invalid.headers.get("hfi-field-errors")!), [{ path: "spec.rules[0].fault.percentage", reason: "must be between 0 and 100" }]);
    const unknown = await call(s, "ApplyPolicy", { policy: policy("x"), force: true });
    assert.is(unknown.status, 400);
    assert.is(unknown.json.message, "force: unknown field");
    assert.is((await call(s, "ApplyPolicy", "{")).json.code, "invalid_argument");
    const exists = await call(s, "ApplyPolicy", { policy: policy("dup") });
    assert.is(exists.status, 200);
    const dup = await call(s, "ApplyPolicy", { policy: policy("dup"), create_only: true });
    assert.is(dup.status, 409);
    assert.is(dup.json.code, "already_exists");
    const cas = await call(s, "ApplyPolicy", { policy: policy("dup", 50), expectedVersion: 999 });
    assert.is(cas.status, 409);
    assert.is(cas.json.code, "aborted");
    const nope = await call(s, "NoSuchMethod", {});
    assert.is(nope.status, 501);
    assert.is(nope.json.code, "unimplemented");
    assert.is((await call(s, "WatchPolicies", {})).json.message, "WatchPolicies is a server stream: use gRPC");
    const get = await call(s, "GetPolicy", undefined, {}, "GET");
    assert.is(get.status, 405);
    assert.is(get.headers.get("allow"), "POST");
    const text = await call(s, "GetPolicy", "name=x", { "content-type": "text/plain" });
    assert.is(text.status, 415);
  } finally {
    await s.close();
  }
});

test("Connect route: the management API token, as on gRPC", async () => {
  const s = await startTestServer({ apiToken: "t0ken", streamToken: "str3am" });
  try {
    const anon = await call(s, "ListPolicies", {});
    assert.is(anon.status, 401);
    assert.is(anon.json.code, "unauthenticated");
    assert.is((await call(s, "ListPolicies", {}, { authorization: "Bearer nope" })).status, 401);
    const ok = await call(s, "ListPolicies", {}, { authorization: "Bearer t0ken" });
    assert.is(ok.status, 200);
    assert.equal(ok.json.policies ?? [], []);
  } finally {
    await s.close();
  }
});

test.run();
