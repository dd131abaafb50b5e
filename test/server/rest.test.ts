// The HTTP side: probes, metrics and the old system's REST routes with their
// error statuses, on the same data as the gRPC API.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PolicyClient, startTestServer, type TestServer } from "../support/server.ts";
import { EXPENSIVE_DEFAULT_METRICS } from "../../server/metrics.ts";

const policyJson = (name: string, pct = 10) => ({
  metadata: { name },
  spec: { selector: { service: "web" }, rules: [{ match: { path: { prefix: "/api" } }, fault: { percentage: pct, abort: { http_status: 503 } } }] },
});

async function req(s: TestServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.baseUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

test("probes and metrics", async () => {
  const s = await startTestServer();
  try {
    for (const p of ["/healthz", "/v1/health"]) assert.is((await req(s, "GET", p)).status, 200);
    for (const p of ["/readyz", "/v1/ready"]) {
      const r = await req(s, "GET", p);
      assert.is(r.status, 200);
      assert.is(r.json.status, "ready");
    }
    const m = await req(s, "GET", "/metrics");
    assert.is(m.status, 200);
    for (const name of ["hfi_config_pushes_total", "hfi_apply_to_push_seconds", "hfi_acks_total", "hfi_nacks_total", "hfi_store_errors_total", "hfi_invalid_policies_total", "hfi_config_streams"]) {
      assert.ok(m.text.includes(name), name);
    }
    // Scrape cost must not grow with the stream count: no per-handle / per-fd walks.
    for (const name of EXPENSIVE_DEFAULT_METRICS) assert.not.match(m.text, new RegExp(`^${name}[ {]`, "m"), name);
    assert.match(m.text, /^nodejs_eventloop_lag_p99_seconds /m);
  } finally {
    await s.close();
  }
});

test("REST CRUD: POST 201/200, GET, PUT, DELETE, list, shared with gRPC", async () => {
  const s = await startTestServer();
  const c = new PolicyClient(s.grpcAddress);
  try {
    const created = await req(s, "POST", "/v1/policies", policyJson("rest-a"));
    assert.is(created.status, 201);
    assert.is(created.json.result, "created");
    assert.is(created.json.policy.metadata.name, "rest-a");
    const v1 = created.json.policy.metadata.version;
    assert.ok(v1 > 0);
    const again = await req(s, "POST", "/v1/policies", policyJson("rest-a"));
    assert.is(again.status, 200);
    assert.is(again.json.result, "unchanged");
    const updated = await req(s, "POST", "/v1/policies", policyJson("rest-a", 30));
    assert.is(updated.status, 200);
    assert.is(updated.json.result, "configured");
    const got = await req(s, "GET", "/v1/policies/rest-a");
    assert.is(got.status, 200);
    assert.is(got.json.spec.rules[0].fault.percentage, 30);
    // gRPC sees the same data.
    assert.is((await c.get("rest-a")).policy!.spec!.rules[0]!.fault!.percentage, 30);

    const put = await req(s, "PUT", "/v1/policies/rest-b", policyJson("rest-b"));
    assert.is(put.status, 201);
    const putNoName = await req(s, "PUT", "/v1/policies/rest-c", { spec: policyJson("x").spec });
    assert.is(putNoName.status, 201, "name taken from the URL when the body has none");
    assert.is(putNoName.json.policy.metadata.name, "rest-c");
    const list = await req(s, "GET", "/v1/policies");
    assert.equal(list.json.policies.map((p: any) => p.metadata.name), ["rest-a", "rest-b", "rest-c"]);
    // YAML body.
    const yaml = await req(s, "PUT", "/v1/policies/rest-c", "metadata:\n  name: rest-c\nspec:\n  rules:\n    - fault: {percentage: 1, delay_ms: 5}\n", { "content-type": "application/yaml" });
    assert.is(yaml.status, 200);
    assert.is(yaml.json.policy.spec.rules[0].fault.delay.fixed_delay_ms ?? yaml.json.policy.spec.rules[0].fault.delay.fixedDelayMs, 5);
    // CAS on PUT/DELETE via ?expected_version=
    const stale = await req(s, "PUT", `/v1/policies/rest-a?expected_version=${v1}`, policyJson("rest-a", 40));
    assert.is(stale.status, 409);
    assert.is(stale.json.code, "CONFLICT");
    // dry run
    const dry = await req(s, "POST", "/v1/policies?dry_run=true", policyJson("rest-dry"));
    assert.is(dry.status, 201);
    assert.is((await req(s, "GET", "/v1/policies/rest-dry")).status, 404);

    const del = await req(s, "DELETE", "/v1/policies/rest-b");
    assert.is(del.status, 200);
    assert.is(del.json.policy.metadata.name, "rest-b");
    assert.is((await req(s, "DELETE", "/v1/policies/rest-b")).status, 404);
  } finally {
    c.close();
    await s.close();
  }
});

test("REST errors: 400 validation/malformed, 404, 405, 413, 415, PUT name mismatch", async () => {
  const s = await startTestServer();
  try {
    const invalid = await req(s, "POST", "/v1/policies", policyJson("bad", 101));
    assert.is(invalid.status, 400);
    assert.is(invalid.json.code, "INVALID_ARGUMENT");
    assert.is(invalid.json.error, "spec.rules[0].fault.percentage: must be between 0 and 100");
    assert.equal(invalid.json.fieldErrors, [{ path: "spec.rules[0].fault.percentage", reason: "must be between 0 and 100" }]);

    const malformed = await req(s, "POST", "/v1/policies", '{"metadata": {"name": "x"},');
    assert.is(malformed.status, 400);
    assert.match(malformed.json.error, /^malformed JSON body: /);
    const empty = await req(s, "POST", "/v1/policies", "");
    assert.is(empty.status, 400);

    const missing = await req(s, "GET", "/v1/policies/nope");
    assert.is(missing.status, 404);
    assert.is(missing.json.code, "NOT_FOUND");
    assert.is((await req(s, "GET", "/v2/things")).status, 404);
    const badName = await req(s, "GET", "/v1/policies/Bad_Name");
    assert.is(badName.status, 400);
    assert.match(badName.json.error, /^name: must be a lowercase RFC 1123 label/);
    assert.is((await req(s, "PATCH", "/v1/policies/x", {})).status, 405);

    const mismatch = await req(s, "PUT", "/v1/policies/other", policyJson("rest-a"));
    assert.is(mismatch.status, 400);
    assert.match(mismatch.json.error, /^metadata\.name: must match the name in the URL/);

    const tooBig = await req(s, "POST", "/v1/policies", JSON.stringify({ pad: "x".repeat(1024 * 1024 + 10) }));
    assert.is(tooBig.status, 413);
    assert.is(tooBig.json.code, "PAYLOAD_TOO_LARGE");

    const wrongType = await req(s, "POST", "/v1/policies", "name=x", { "content-type": "application/x-www-form-urlencoded" });
    assert.is(wrongType.status, 415);

    const exists = await req(s, "POST", "/v1/policies", policyJson("dup"));
    assert.is(exists.status, 201);
    assert.is((await req(s, "GET", "/v1/policies")).json.policies.length, 1, "nothing half-written by the failures");
  } finally {
    await s.close();
  }
});

test("REST auth: 401 without the bearer token on /v1/policies*, probes and metrics open", async () => {
  const s = await startTestServer({ apiToken: "t0ken", streamToken: "str3am" });
  try {
    assert.is((await req(s, "GET", "/v1/policies")).status, 401);
    const wrong = await req(s, "POST", "/v1/policies", policyJson("a"), { authorization: "Bearer nope" });
    assert.is(wrong.status, 401);
    assert.is(wrong.json.code, "UNAUTHENTICATED");
    assert.is((await req(s, "GET", "/v1/policies/status")).status, 401);
    const ok = await req(s, "POST", "/v1/policies", policyJson("a"), { authorization: "Bearer t0ken" });
    assert.is(ok.status, 201);
    assert.is((await req(s, "GET", "/v1/policies", undefined, { authorization: "Bearer t0ken" })).json.policies.length, 1);
    for (const p of ["/healthz", "/readyz", "/metrics", "/v1/health", "/v1/ready"]) assert.is((await req(s, "GET", p)).status, 200, p);
  } finally {
    await s.close();
  }
});

test.run();
