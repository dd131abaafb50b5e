// Client errors answered as client errors, on a real `hfi server` process
// (one process, and a primary with two workers, where gRPC is served by the
// workers): bytes that are not a valid protobuf message are INVALID_ARGUMENT
// on every RPC (grpc-js services and the raw HTTP/2 StreamConfig path), and a
// string with a lone UTF-16 surrogate is rejected with its field path.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { methodDefinition } from "../../server/grpc/methods.ts";
import { PolicyClient } from "../support/server.ts";
import { rawCall } from "../support/raw-grpc.ts";
import { spawnServer, type ServerProcess } from "../support/server-process.ts";

/** Field 1, length-delimited, length 127, then nothing: every request type fails to decode it. */
const GARBAGE = Buffer.from([0x0a, 0x7f, 0x01]);
const PATHS = [
  "/hfi.v1.PolicyService/ApplyPolicy",
  "/hfi.v1.PolicyService/ListPolicies",
  "/hfi.v1.PolicyService/WatchPolicies",
  "/hfi.v1.ConfigDiscoveryService/StreamConfig",
];
// (grpc.health.v1 and reflection come with decoders that accept any bytes.)

const servers: { name: string; proc: ServerProcess; dir: string }[] = [];

test.before(async () => {
  for (const workers of ["1", "2"]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-bad-input-"));
    const proc = await spawnServer(["--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data-dir", dir, "--workers", workers]);
    servers.push({ name: `--workers ${workers}`, proc, dir });
  }
});

test.after(async () => {
  for (const s of servers) {
    await s.proc.stop();
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
});

test("undecodable request messages are INVALID_ARGUMENT on every RPC, not INTERNAL", async () => {
  for (const s of servers) {
    for (const p of PATHS) {
      const r = await rawCall(s.proc.grpcAddress, p, GARBAGE, { keepOpen: p.endsWith("StreamConfig") });
      assert.is(r.code, grpc.status.INVALID_ARGUMENT, `${s.name} ${p}: ${r.code} ${r.message}`);
      assert.match(r.message, new RegExp(`request message of ${p.replace(/\./g, "\\.")} is not valid protobuf`), `${s.name} ${p}`);
    }
    // The server is fine afterwards: a valid call on the same port works.
    const ok = await rawCall(s.proc.grpcAddress, "/grpc.health.v1.Health/Check", Buffer.alloc(0));
    assert.is(ok.code, grpc.status.OK, s.name);
  }
});

test("a lone UTF-16 surrogate in any string is rejected with the field path (Connect JSON and the old REST route), nothing stored", async () => {
  for (const s of servers) {
    const client = new PolicyClient(s.proc.grpcAddress);
    try {
      // (gRPC cannot carry one: the UTF-8 decoder turns invalid bytes into U+FFFD. JSON escapes can.)
      const connect = await fetch(`http://${s.proc.httpAddress}/hfi.v1.PolicyService/ApplyPolicy`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"policy":{"metadata":{"name":"lone","labels":{"team":"a\\udfff"}},"spec":{"selector":{"service":"web\\ud800"},"rules":[{"fault":{"percentage":1,"abort":{"http_status":503}}}]}}}',
      });
      assert.is(connect.status, 400, s.name);
      assert.is(
        ((await connect.json()) as { message: string }).message,
        'policy.metadata.labels["team"]: is not valid Unicode: lone UTF-16 surrogate U+DFFF at character 1; policy.spec.selector.service: is not valid Unicode: lone UTF-16 surrogate U+D800 at character 3',
      );
      // The old REST route (old body shape), same check.
      const old = await fetch(`http://${s.proc.httpAddress}/v1/policies`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"metadata":{"name":"lone"},"spec":{"rules":[{"match":{"path":{"prefix":"/a\\ud800"}},"fault":{"percentage":1,"abort":{"httpStatus":503}}}]}}',
      });
      assert.is(old.status, 400, s.name);
      // The old error shape (details.field + validation_message for a single error).
      const json = (await old.json()) as { error: string; details: { field: string; validation_message: string } };
      assert.is(json.error, "invalid_input");
      assert.equal([json.details.field, json.details.validation_message], ["spec.rules[0].match.path.prefix", "is not valid Unicode: lone UTF-16 surrogate U+D800 at character 2"]);
      // A valid surrogate pair (an emoji) is fine.
      const fine = await client.apply({
        policy: { metadata: { name: "pair" }, spec: { rules: [{ match: { headers: [{ name: "x-note", exact: "ok 😀" }] }, fault: { percentage: 1, abort: { httpStatus: 503 } } }] } },
      });
      assert.is(fine.result, "APPLY_RESULT_CREATED");
      assert.equal((await client.list()).policies.map((p) => p.metadata!.name), ["pair"]);
      await client.delete("pair");
    } finally {
      client.close();
    }
  }
});

test("method definitions used above exist (a renamed method would make the first test vacuous)", () => {
  assert.ok(methodDefinition("hfi.v1.PolicyService", "ApplyPolicy").path === PATHS[0]);
});

test.run();
