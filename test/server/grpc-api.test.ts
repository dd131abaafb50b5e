// PolicyService over real gRPC against both stores: CRUD, CAS, create-only,
// dry run, validation errors with field paths, WatchPolicies, health,
// reflection (buf curl with no .proto at hand) and bearer auth.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import type { Policy, PolicyEventOut } from "../../proto/loader.ts";
import { TestEtcd } from "../support/etcd.ts";
import { PolicyClient, startTestServer, waitFor, type TestServer } from "../support/server.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BUF = path.join(ROOT, "node_modules/.bin/buf");

const policy = (name: string, pct = 10, extra: Partial<NonNullable<Policy["spec"]>> = {}): Policy => ({
  metadata: { name, labels: { team: "qa" } },
  spec: { selector: { service: "web" }, rules: [{ match: { path: { prefix: "/api" } }, fault: { percentage: pct, delayMs: 150 } }], ...extra },
});

async function grpcError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error("expected the call to fail");
}

async function crud(s: TestServer): Promise<void> {
  const c = new PolicyClient(s.grpcAddress);
  try {
    const created = await c.apply({ policy: policy("delay-api") });
    assert.is(created.result, "APPLY_RESULT_CREATED");
    const md = created.policy!.metadata!;
    assert.ok(md.version > 0);
    assert.ok(md.createdAtUnixMs > 0 && md.updatedAtUnixMs >= md.createdAtUnixMs);
    // delay_ms shorthand is normalised away.
    const fault = created.policy!.spec!.rules[0]!.fault!;
    assert.is(fault.delay!.fixedDelayMs, 150);
    assert.is(fault.delayMs, 0);

    const same = await c.apply({ policy: policy("delay-api") });
    assert.is(same.result, "APPLY_RESULT_UNCHANGED");
    assert.is(same.policy!.metadata!.version, md.version, "unchanged: no write");

    const updated = await c.apply({ policy: policy("delay-api", 20), expectedVersion: md.version });
    assert.is(updated.result, "APPLY_RESULT_CONFIGURED");
    const v2 = updated.policy!.metadata!.version;
    assert.ok(v2 > md.version);
    assert.is(updated.policy!.metadata!.createdAtUnixMs, md.createdAtUnixMs);

    // CAS with a stale version → ABORTED, nothing written.
    const stale = await grpcError(c.apply({ policy: policy("delay-api", 30), expectedVersion: md.version }));
    assert.is(stale.code, grpc.status.ABORTED);
    assert.is((await c.get("delay-api")).policy!.spec!.rules[0]!.fault!.percentage, 20);

    // create_only on an existing name → ALREADY_EXISTS.
    const exists = await grpcError(c.apply({ policy: policy("delay-api", 40), createOnly: true }));
    assert.is(exists.code, grpc.status.ALREADY_EXISTS);

    // dry_run: reports the would-be result, stores nothing.
    const dryNew = await c.apply({ policy: policy("dry-new"), dryRun: true });
    assert.is(dryNew.result, "APPLY_RESULT_CREATED");
    assert.is(dryNew.policy!.metadata!.name, "dry-new");
    assert.is((await grpcError(c.get("dry-new"))).code, grpc.status.NOT_FOUND);
    const dryUpd = await c.apply({ policy: policy("delay-api", 50), dryRun: true });
    assert.is(dryUpd.result, "APPLY_RESULT_CONFIGURED");
    assert.is(dryUpd.policy!.spec!.rules[0]!.fault!.percentage, 50);
    assert.is((await c.get("delay-api")).policy!.metadata!.version, v2);
    const dryBad = await grpcError(c.apply({ policy: policy("dry-bad", 101), dryRun: true }));
    assert.is(dryBad.code, grpc.status.INVALID_ARGUMENT);

    await c.apply({ policy: policy("abort-b", 5, { priority: 3 }) });
    const list = await c.list();
    assert.equal(list.policies.map((p) => p.metadata!.name), ["abort-b", "delay-api"]);
    assert.ok(list.revision >= v2);
    assert.equal(list.policies[1]!.metadata!.labels, { team: "qa" });

    // Delete: CAS, then success, then NOT_FOUND.
    assert.is((await grpcError(c.delete("delay-api", md.version))).code, grpc.status.ABORTED);
    const del = await c.delete("delay-api", v2);
    assert.is(del.policy!.metadata!.name, "delay-api");
    assert.ok(del.revision > v2);
    assert.is((await grpcError(c.delete("delay-api"))).code, grpc.status.NOT_FOUND);
    assert.is((await grpcError(c.get("delay-api"))).code, grpc.status.NOT_FOUND);
    assert.equal((await c.list()).policies.map((p) => p.metadata!.name), ["abort-b"]);
  } finally {
    c.close();
  }
}

test("CRUD, CAS, create_only and dry_run over gRPC (embedded store)", async () => {
  const s = await startTestServer();
  try {
    await crud(s);
  } finally {
    await s.close();
  }
});

test("CRUD, CAS, create_only and dry_run over gRPC (etcd store)", async () => {
  const etcd = await TestEtcd.start();
  try {
    const s = await startTestServer({ etcd });
    try {
      await crud(s);
    } finally {
      await s.close();
    }
  } finally {
    await etcd.stop();
  }
});

test("validation errors: INVALID_ARGUMENT 'path: reason' and field errors in trailers", async () => {
  const s = await startTestServer();
  const c = new PolicyClient(s.grpcAddress);
  try {
    const err = await grpcError(
      c.apply({ policy: { metadata: { name: "bad" }, spec: { rules: [{ fault: { percentage: 150, abort: { httpStatus: 503 } } }] } } }),
    );
    assert.is(err.code, grpc.status.INVALID_ARGUMENT);
    assert.is(err.details, "spec.rules[0].fault.percentage: must be between 0 and 100");
    const fieldErrors = JSON.parse(String(err.metadata.get("hfi-field-errors")[0]));
    assert.equal(fieldErrors, [{ path: "spec.rules[0].fault.percentage", reason: "must be between 0 and 100" }]);
    const bin = err.metadata.get("hfi-field-errors-bin")[0] as Buffer;
    assert.equal(JSON.parse(bin.toString("utf8")), fieldErrors);

    const two = await grpcError(
      c.apply({ policy: { metadata: { name: "Bad_Name" }, spec: { rules: [{ match: { path: { regex: "(a" } }, fault: { percentage: 1, abort: { httpStatus: 503 } } }] } } }),
    );
    assert.is(two.code, grpc.status.INVALID_ARGUMENT);
    assert.match(two.details, /^metadata\.name: .+; spec\.rules\[0\]\.match\.path\.regex: .+/);
    assert.equal((await c.list()).policies, []);
    const badGet = await grpcError(c.get("../x"));
    assert.is(badGet.code, grpc.status.INVALID_ARGUMENT);
    assert.match(badGet.details, /^name: /);
  } finally {
    c.close();
    await s.close();
  }
});

test("WatchPolicies: initial state then changes", async () => {
  const s = await startTestServer();
  const c = new PolicyClient(s.grpcAddress);
  const events: PolicyEventOut[] = [];
  let call: grpc.ClientReadableStream<PolicyEventOut> | undefined;
  try {
    await c.apply({ policy: policy("before") });
    call = c.raw.watchPolicies({ sendInitial: true });
    call.on("data", (e: PolicyEventOut) => events.push(e));
    call.on("error", () => {});
    await waitFor(() => events.length === 1, "initial event");
    await c.apply({ policy: policy("after") });
    await c.delete("before");
    await waitFor(() => events.length === 3, "change events");
    assert.equal(events.map((e) => [e.type, e.policy!.metadata!.name]), [
      ["TYPE_PUT", "before"],
      ["TYPE_PUT", "after"],
      ["TYPE_DELETE", "before"],
    ]);
    assert.ok(events[2]!.revision > events[1]!.revision);
  } finally {
    call?.cancel();
    c.close();
    await s.close();
  }
});

test("management API bearer token: UNAUTHENTICATED without it, works with it", async () => {
  const s = await startTestServer({ apiToken: "t0ken", streamToken: "str3am" });
  const anon = new PolicyClient(s.grpcAddress);
  const wrong = new PolicyClient(s.grpcAddress, "other");
  const ok = new PolicyClient(s.grpcAddress, "t0ken");
  try {
    assert.is((await grpcError(anon.list())).code, grpc.status.UNAUTHENTICATED);
    assert.is((await grpcError(wrong.apply({ policy: policy("x") }))).code, grpc.status.UNAUTHENTICATED);
    assert.is((await grpcError(anon.status())).code, grpc.status.UNAUTHENTICATED);
    assert.is((await ok.apply({ policy: policy("x") })).result, "APPLY_RESULT_CREATED");
    assert.is((await ok.list()).policies.length, 1);
    const h = await fetch(`${s.baseUrl}/healthz`);
    assert.is(h.status, 200, "probes need no token");
  } finally {
    [anon, wrong, ok].forEach((c) => c.close());
    await s.close();
  }
});

test("grpc.health.v1 and reflection: buf curl lists and calls methods without .proto files", async () => {
  const s = await startTestServer();
  try {
    const url = `http://${s.grpcAddress}`;
    // Async: the server runs in this process and must keep answering.
    const buf = async (...args: string[]) =>
      (await promisify(execFile)(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { encoding: "utf8", timeout: 30_000 })).stdout;
    for (const reflectProtocol of ["grpc-v1", "grpc-v1alpha"]) {
      const methods = (await buf("--reflect-protocol", reflectProtocol, "--list-methods", url)).trim().split("\n").sort();
      for (const m of [
        "hfi.v1.ConfigDiscoveryService/StreamConfig",
        "hfi.v1.PolicyService/ApplyPolicy",
        "hfi.v1.PolicyService/DeletePolicy",
        "hfi.v1.PolicyService/GetPolicy",
        "hfi.v1.PolicyService/GetPolicyStatus",
        "hfi.v1.PolicyService/ListPolicies",
        "hfi.v1.PolicyService/WatchPolicies",
        "grpc.health.v1.Health/Check",
      ]) {
        assert.ok(methods.includes(m), `${reflectProtocol}: ${m} in ${methods.join(", ")}`);
      }
    }
    const applied = JSON.parse(
      await buf("-d", JSON.stringify({ policy: { metadata: { name: "via-buf" }, spec: { rules: [{ fault: { percentage: 1, abort: { http_status: 418 } } }] } } }), `${url}/hfi.v1.PolicyService/ApplyPolicy`),
    );
    assert.is(applied.result, "APPLY_RESULT_CREATED");
    const listed = JSON.parse(await buf("-d", "{}", `${url}/hfi.v1.PolicyService/ListPolicies`));
    assert.is(listed.policies[0].metadata.name, "via-buf");
    const health = JSON.parse(await buf("-d", "{}", `${url}/grpc.health.v1.Health/Check`));
    assert.is(health.status, "SERVING");
  } finally {
    await s.close();
  }
});

test.run();
