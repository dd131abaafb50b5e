// The old routes on etcd and over time: GET /v1/config/stream (the old
// server's SSE, main.go sseHandler + distributor.go: json.Marshal of the
// policy list after `event: full_config` / `event: update`), and an etcd
// outage, where the old server answered GET /v1/policies with an empty list
// (storage/etcd_store.go List returns [] on error) and HFI keeps answering
// the last good view.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TestEtcd } from "../support/etcd.ts";
import { startTestServer, waitFor } from "../support/server.ts";
import { oldPluginParseError } from "./legacy/old-plugin-serde.ts";

const abort = (name: string) => ({ metadata: { name }, spec: { rules: [{ match: { path: { prefix: "/" } }, fault: { percentage: 50, abort: { httpStatus: 503 } } }] } });
const golden = (name: string) => `{"metadata":{"name":"${name}","version":""},"spec":{"rules":[{"match":{"path":{"prefix":"/"}},"fault":{"percentage":50,"abort":{"httpStatus":503}}}]}}`;

test("GET /v1/config/stream: full_config, then update with the whole list after each change", async () => {
  const etcd = await TestEtcd.start();
  const s = await startTestServer({ etcd });
  const ac = new AbortController();
  try {
    const post = (name: string) => fetch(`${s.baseUrl}/v1/policies`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(abort(name)) });
    assert.is((await post("s-a")).status, 201);
    await waitFor(() => s.view.list().length === 1, "view has s-a");
    const res = await fetch(`${s.baseUrl}/v1/config/stream`, { signal: ac.signal });
    assert.is(res.status, 200);
    assert.is(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    const until = async (what: string) => {
      const deadline = Date.now() + 10_000;
      while (!text.includes(what)) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out waiting for ${JSON.stringify(what)}; got ${JSON.stringify(text)}`)), Math.max(0, deadline - Date.now()));
        });
        const { value, done } = await Promise.race([reader.read(), timeout]).finally(() => clearTimeout(timer));
        if (done) throw new Error(`stream ended before ${JSON.stringify(what)}`);
        text += new TextDecoder().decode(value);
      }
    };
    await until(`event: full_config\ndata: [${golden("s-a")}]\n\n`);
    assert.is((await post("s-b")).status, 201);
    await until(`event: update\ndata: [${golden("s-a")},${golden("s-b")}]\n\n`);
  } finally {
    ac.abort();
    await s.close();
    await etcd.stop();
  }
});

test("etcd down: GET /v1/policies keeps answering the last good list (parseable by the old plugin), writes answer 500", async () => {
  const etcd = await TestEtcd.start();
  const s = await startTestServer({ etcd });
  try {
    const post = () => fetch(`${s.baseUrl}/v1/policies`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(abort("kept")) });
    assert.is((await post()).status, 201);
    await waitFor(() => s.view.list().length === 1, "view has the policy");
    await etcd.kill();
    const list = await fetch(`${s.baseUrl}/v1/policies`);
    const text = await list.text();
    assert.is(list.status, 200);
    assert.is(text, `{"policies":[${golden("kept")}]}`);
    assert.is(oldPluginParseError(text), undefined);
    assert.is(await (await fetch(`${s.baseUrl}/v1/policies/kept`)).text(), golden("kept"));
    const ready = await fetch(`${s.baseUrl}/v1/ready`);
    assert.is(ready.status, 503);
    const body = JSON.parse(await ready.text());
    assert.equal(Object.keys(body), ["error", "reason", "status"]);
    assert.equal([body.reason, body.status], ["etcd connection failed", "not_ready"]);
    // The old middleware's default branch: 500 internal_server_error (error_type and reason added).
    const write = await post();
    assert.is(write.status, 500);
    assert.match(await write.text(), /^\{"error":"internal_server_error","message":"An internal server error occurred","details":\{"error_type":"unavailable","reason":"/);
  } finally {
    await s.close();
    await etcd.stop();
  }
});

test.run();
