// The control-plane Deployment against the real server: its environment
// (secrets filled in, etcd pointed at a real test etcd, loopback addresses)
// is a valid `hfi server` configuration (mesh identity on), its probe paths
// answer 200, and readiness means "can serve config streams": it stays 200
// through an etcd outage (every replica keeps serving its last good view, so
// none may leave the Service), while /healthz/store and hfi_store_up report
// the lost store and writes fail UNAVAILABLE.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderKustomization } from "../../scripts/k8s/render.ts";
import { loadServerConfig } from "../../server/config.ts";
import { startServer, type RunningServer } from "../../server/main.ts";
import { TestEtcd } from "../support/etcd.ts";

function controlPlaneContainer(dir: string): any {
  const d = renderKustomization(dir)
    .map((r) => r.object)
    .find((o) => o.kind === "Deployment" && o.metadata.name === "hfi-control-plane");
  assert.ok(d, "Deployment rendered");
  return d!.spec.template.spec.containers[0];
}

/** The env the kubelet would give the container, secrets replaced by test values. */
function containerEnv(c: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef && !e.valueFrom.secretKeyRef.optional) env[e.name] = `test-${e.name.toLowerCase()}`;
  }
  return env;
}

async function status(server: RunningServer, path: string): Promise<number> {
  const res = await fetch(`http://${server.httpAddress}${path}`);
  await res.arrayBuffer();
  return res.status;
}

test("the Deployment's env is a valid server config for base and dev", () => {
  for (const dir of ["k8s", "k8s/overlays/dev"]) {
    const env = containerEnv(controlPlaneContainer(dir));
    const config = loadServerConfig({}, env);
    assert.equal(config.etcdEndpoints, ["http://hfi-etcd.boifi.svc:2379"], dir);
    assert.is(config.grpcAddr, "0.0.0.0:9090");
    assert.is(config.httpAddr, "0.0.0.0:8080");
    assert.is(config.apiToken, "test-hfi_api_token", `${dir}: management API requires the token`);
    assert.is(config.meshIdentity, true, `${dir}: config streams checked against the sidecar's SPIFFE ID`);
    assert.equal(config.meshTrustedProxies, ["127.0.0.6"], `${dir}: XFCC believed from Istio's inbound source only`);
    assert.equal(config.meshAdminPrincipals, ["cluster.local/ns/boifi/sa/hfi-admin"], `${dir}: the hfi-admin ServiceAccount of security.yaml`);
  }
});

test("probe paths answer on a live server; through an etcd outage readiness stays, store health goes, writes fail UNAVAILABLE", async () => {
  const c = controlPlaneContainer("k8s");
  const etcd = await TestEtcd.start();
  let server: RunningServer | undefined;
  let etcdStopped = false;
  try {
    const env = { ...containerEnv(c), HFI_ETCD_ENDPOINTS: etcd.endpoint, HFI_GRPC_ADDR: "127.0.0.1:0", HFI_HTTP_ADDR: "127.0.0.1:0", HFI_LOG_LEVEL: "silent" };
    server = await startServer(loadServerConfig({}, env));
    const live = c.livenessProbe.httpGet.path;
    const ready = c.readinessProbe.httpGet.path;
    const startup = c.startupProbe.httpGet.path;
    for (const p of [live, ready, startup, "/healthz/store"]) assert.is(await status(server, p), 200, `${p} answers 200`);
    assert.match(await (await fetch(`http://${server.httpAddress}/metrics`)).text(), /^hfi_store_up\{store="etcd"\} 1$/m);

    // stop() = SIGKILL + remove its data (kill() then stop() would wait for a second exit).
    await etcd.stop();
    etcdStopped = true;
    // Poll (no timing assertion): store health must turn 503 once etcd is gone.
    let storeStatus = 200;
    for (let i = 0; i < 60 && storeStatus === 200; i++) {
      storeStatus = await status(server, "/healthz/store");
      if (storeStatus === 200) await new Promise((r) => setTimeout(r, 500));
    }
    assert.is(storeStatus, 503, "/healthz/store reports the lost store");
    const metrics = await (await fetch(`http://${server.httpAddress}/metrics`)).text();
    assert.match(metrics, /^hfi_store_up\{store="etcd"\} 0$/m);
    assert.is(await status(server, ready), 200, `${ready} stays 200: the replica still serves config streams from its view`);
    assert.is(await status(server, live), 200, `${live} stays 200: no restart loop while etcd is down`);
    const write = await fetch(`http://${server.httpAddress}/hfi.v1.PolicyService/ApplyPolicy`, {
      method: "POST",
      headers: { authorization: "Bearer test-hfi_api_token", "content-type": "application/json" },
      body: JSON.stringify({ policy: { metadata: { name: "during-outage" }, spec: { rules: [{ fault: { percentage: 1, abort: { http_status: 503 } } }] } } }),
    });
    assert.is(write.status, 503, "writes fail while the store is down");
    assert.is(((await write.json()) as { code: string }).code, "unavailable");
  } finally {
    await server?.close().catch(() => {});
    if (!etcdStopped) await etcd.stop();
  }
});

test.run();
