// The control-plane Deployment against the real server: its environment
// (secrets filled in, etcd pointed at a real test etcd, loopback addresses)
// is a valid `hfi server` configuration, its probe paths answer 200, and the
// readiness probe — unlike liveness — goes unready when etcd is gone, so
// Kubernetes takes a replica without a store out of the Service instead of
// restarting it.
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
  }
});

test("probe paths answer on a live server; readiness follows etcd, liveness does not", async () => {
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
    for (const p of [live, ready, startup]) assert.is(await status(server, p), 200, `${p} answers 200`);

    // stop() = SIGKILL + remove its data (kill() then stop() would wait for a second exit).
    await etcd.stop();
    etcdStopped = true;
    // Poll (no timing assertion): readiness must turn 503 once etcd is gone.
    let readyStatus = 200;
    for (let i = 0; i < 60 && readyStatus === 200; i++) {
      readyStatus = await status(server, ready);
      if (readyStatus === 200) await new Promise((r) => setTimeout(r, 500));
    }
    assert.is(readyStatus, 503, `${ready} reports the lost store`);
    assert.is(await status(server, live), 200, `${live} stays 200: no restart loop while etcd is down`);
  } finally {
    await server?.close().catch(() => {});
    if (!etcdStopped) await etcd.stop();
  }
});

test.run();
