// The HTTP side: probes, metrics, the status report and auth. The old
// control plane's routes are pinned in legacy-api.test.ts, HFI's own JSON
// (Connect) in connect.test.ts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { httpRequest } from "../support/http.ts";
import { PolicyClient, startTestServer, waitFor } from "../support/server.ts";
import { EXPENSIVE_DEFAULT_METRICS } from "../../server/metrics.ts";

const policyJson = (name: string, pct = 10) => ({
  metadata: { name },
  spec: { selector: { service: "web" }, rules: [{ match: { path: { prefix: "/api" } }, fault: { percentage: pct, abort: { httpStatus: 503 } } }] },
});

const req = httpRequest;

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

test("REST auth: 401 without the bearer token on /v1/policies*, probes and metrics open", async () => {
  const s = await startTestServer({ apiToken: "t0ken", streamToken: "str3am" });
  try {
    assert.is((await req(s, "GET", "/v1/policies")).status, 401);
    const wrong = await req(s, "POST", "/v1/policies", policyJson("a"), { authorization: "Bearer nope" });
    assert.is(wrong.status, 401);
    const status = await req(s, "GET", "/v1/policies/status");
    assert.is(status.status, 401);
    assert.is(status.json.code, "UNAUTHENTICATED");
    const ok = await req(s, "POST", "/v1/policies", policyJson("a"), { authorization: "Bearer t0ken" });
    assert.is(ok.status, 201);
    assert.is((await req(s, "GET", "/v1/policies", undefined, { authorization: "Bearer t0ken" })).json.policies.length, 1);
    assert.is((await req(s, "GET", "/v1/policies/status", undefined, { authorization: "Bearer t0ken" })).json.policies.length, 1);
    for (const p of ["/healthz", "/readyz", "/metrics", "/v1/health", "/v1/ready"]) assert.is((await req(s, "GET", p)).status, 200, p);
  } finally {
    await s.close();
  }
});

test("REST status is GetPolicyStatus as JSON: pause fields, proxy_limit", async () => {
  const s = await startTestServer();
  const client = new PolicyClient(s.grpcAddress);
  try {
    for (const n of ["a", "b"]) assert.is((await req(s, "POST", "/v1/policies", policyJson(n))).status, 201);
    const paused = await req(s, "POST", "/hfi.v1.PolicyService/PausePolicies", { policy: "a" });
    assert.is(paused.status, 200);
    const rest = await waitFor(async () => {
      const r = (await req(s, "GET", "/v1/policies/status?proxy_limit=5")).json;
      return r.pause?.policies?.length ? r : undefined;
    }, "pause in the REST status");
    assert.equal(rest.pause.policies, ["a"]);
    assert.equal(rest.policies.map((p: { name: string; paused: boolean }) => [p.name, p.paused]), [["a", true], ["b", false]]);
    assert.equal(rest, JSON.parse(JSON.stringify(await client.status("", 5))));
    const one = (await req(s, "GET", "/v1/policies/status?name=a")).json;
    assert.equal(one, JSON.parse(JSON.stringify(await client.status("a"))));
  } finally {
    client.close();
    await s.close();
  }
});

test.run();
