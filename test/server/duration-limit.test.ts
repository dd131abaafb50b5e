// --max-duration / --default-duration: a rule over the maximum is rejected
// (INVALID_ARGUMENT naming the field, nothing stored), a rule without a
// duration gets the default (and so an expiry), and the flags are checked.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadServerConfig } from "../../server/config.ts";
import { durationLimitOf } from "../../server/duration-limit.ts";
import { startTestServer, PolicyClient } from "../support/server.ts";

const policy = (name: string, durationSeconds?: number) => ({
  metadata: { name },
  spec: { selector: {}, rules: [{ fault: { percentage: 100, abort: { httpStatus: 503 }, ...(durationSeconds ? { durationSeconds } : {}) } }] },
});

test("flags: range, default needs max and stays under it", () => {
  assert.equal(loadServerConfig({}, {}).maxDurationSeconds, undefined);
  const c = loadServerConfig({ maxDuration: "3600" }, {});
  assert.equal(durationLimitOf(c), { maxSeconds: 3600, defaultSeconds: 3600 });
  const d = loadServerConfig({ maxDuration: "3600" }, { HFI_DEFAULT_DURATION: "600" });
  assert.equal(durationLimitOf(d), { maxSeconds: 3600, defaultSeconds: 600 });
  assert.throws(() => loadServerConfig({ maxDuration: "0" }, {}), /--max-duration: must be an integer between 1 and 31536000 seconds/);
  assert.throws(() => loadServerConfig({ defaultDuration: "60" }, {}), /--default-duration: needs --max-duration/);
  assert.throws(() => loadServerConfig({ maxDuration: "60", defaultDuration: "61" }, {}), /--default-duration: must be an integer between 1 and 60/);
});

test("apply: over the maximum is INVALID_ARGUMENT naming the field; unset gets the default", async () => {
  const server = await startTestServer({ maxDurationSeconds: 600, defaultDurationSeconds: 120 });
  const pc = new PolicyClient(server.grpcAddress);
  try {
    const err = await pc.apply({ policy: policy("too-long", 601) }).then(() => undefined, (e: { code: number; details: string }) => e);
    assert.is(err?.code, 3);
    assert.match(err!.details, "spec.rules[0].fault.duration_seconds: must be at most 600 (the server's --max-duration)");
    const missing = await pc.get("too-long").then(() => "stored", () => "absent");
    assert.is(missing, "absent");
    const before = Date.now();
    const res = await pc.apply({ policy: policy("defaulted") });
    assert.is(res.policy!.spec!.rules[0]!.fault!.durationSeconds, 120);
    const exp = res.policy!.metadata!.expiresAtUnixMs;
    assert.ok(exp >= before + 120_000 && exp <= Date.now() + 120_000, `expiry ${exp}`);
    const ok = await pc.apply({ policy: policy("explicit", 600) });
    assert.is(ok.policy!.spec!.rules[0]!.fault!.durationSeconds, 600);
    // Connect JSON on the HTTP port reports the same error.
    const http = await fetch(`${server.baseUrl}/hfi.v1.PolicyService/ApplyPolicy`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ policy: policy("http", 9999) }),
    });
    assert.is(http.status, 400);
    assert.match(await http.text(), "spec.rules[0].fault.duration_seconds: must be at most 600");
  } finally {
    pc.close();
    await server.close();
  }
});

test("the old REST routes answer a rule over --max-duration with their 400, not a 500", async () => {
  const server = await startTestServer({ maxDurationSeconds: 600 });
  try {
    const body = (name: string) =>
      JSON.stringify({ metadata: { name, version: "1.0.0" }, spec: { selector: { service: "web" }, rules: [{ match: { path: { prefix: "/" } }, fault: { percentage: 100, abort: { httpStatus: 503 }, duration_seconds: 601 } }] } });
    for (const path of ["/v1/policies", "/v1/policies/create"]) {
      const res = await fetch(`${server.baseUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: body("too-long") });
      const text = await res.text();
      assert.is(res.status, 400, `${path}: ${text}`);
      assert.match(text, /duration_seconds/);
    }
    assert.is((await fetch(`${server.baseUrl}/v1/policies/too-long`)).status, 404, "nothing stored");
  } finally {
    await server.close();
  }
});

test.run();
