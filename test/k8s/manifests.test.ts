// The k8s/ kustomizations, rendered without kubectl, validated against the
// Kubernetes/Istio schemas and HFI's cross-references; mutation tests prove a
// broken field is reported.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderKustomization, type K8sObject } from "../../scripts/k8s/render.ts";
import { validateManifests, formatProblem, serverHttpPaths, HFI } from "../../scripts/k8s/validate.ts";
import { SERVER_OPTIONS } from "../../server/config.ts";

const base = () => renderKustomization("k8s").map((r) => r.object);
const dev = () => renderKustomization("k8s/overlays/dev").map((r) => r.object);

function get(objs: K8sObject[], kind: string, name: string, namespace: string = HFI.namespace): any {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name && (x.metadata.namespace ?? "") === namespace);
  assert.ok(o, `${kind} ${namespace}/${name} rendered`);
  return o;
}

function noProblems(objs: K8sObject[]) {
  const problems = validateManifests(objs).map(formatProblem);
  assert.equal(problems, [], problems.join("\n"));
}

test("production base renders and passes every check", () => {
  const objs = base();
  assert.ok(objs.length >= 15, `rendered ${objs.length} objects`);
  noProblems(objs);
});

test("dev overlay renders and passes every check", () => {
  noProblems(dev());
});

test("fail-reload overlay: the base with failStrategy FAIL_RELOAD, everything else equal, passes every check", () => {
  const objs = renderKustomization("k8s/overlays/fail-reload").map((r) => r.object);
  noProblems(objs);
  const plugin = get(objs, "WasmPlugin", "hfi-fault-injection", "demo");
  assert.is(plugin.spec.failStrategy, "FAIL_RELOAD");
  const expected = structuredClone(get(base(), "WasmPlugin", "hfi-fault-injection", "demo"));
  expected.spec.failStrategy = "FAIL_RELOAD";
  assert.equal(plugin, expected);
  assert.is(get(objs, "WasmPlugin", "hfi-fault-injection-outbound", "demo").spec.failStrategy, "FAIL_RELOAD", "the outbound plugin too");
  assert.is(objs.length, base().length);
});

test("the server source has the probe routes the scan relies on", () => {
  const paths = serverHttpPaths();
  for (const p of ["/healthz", "/readyz", "/metrics"]) assert.ok(paths.has(p), `server/http handles ${p}`);
});

test("base: etcd is a 3-member StatefulSet on PVCs with a PDB of 2", () => {
  const objs = base();
  const sts = get(objs, "StatefulSet", "hfi-etcd");
  assert.is(sts.spec.replicas, 3);
  assert.is(sts.spec.volumeClaimTemplates[0].spec.accessModes[0], "ReadWriteOnce");
  assert.ok(sts.spec.template.spec.affinity.podAntiAffinity, "members spread over nodes");
  assert.is(get(objs, "PodDisruptionBudget", "hfi-etcd").spec.minAvailable, 2);
  assert.ok(!JSON.stringify(sts).includes("emptyDir"), "no emptyDir on etcd");
  const peer = get(objs, "Service", "hfi-etcd-peer");
  assert.is(peer.spec.clusterIP, "None");
  assert.is(peer.spec.publishNotReadyAddresses, true);
  get(objs, "Service", "hfi-etcd");
});

test("base: control plane has 2 replicas behind a ClusterIP gRPC Service", () => {
  const objs = base();
  const d = get(objs, "Deployment", "hfi-control-plane");
  assert.is(d.spec.replicas, 2);
  const c = d.spec.template.spec.containers[0];
  assert.is(c.livenessProbe.httpGet.path, "/healthz");
  assert.is(c.readinessProbe.httpGet.path, "/readyz");
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e]));
  assert.is(env.HFI_ETCD_ENDPOINTS.value, "http://hfi-etcd.boifi.svc:2379");
  assert.equal(env.HFI_API_TOKEN.valueFrom.secretKeyRef, { name: "hfi-api-token", key: "token" });
  const known = new Set(SERVER_OPTIONS.map((o) => o.env));
  for (const e of c.env) assert.ok(known.has(e.name), `${e.name} is a server option`);
  const svc = get(objs, "Service", "hfi-control-plane");
  assert.is(svc.spec.type, "ClusterIP");
  assert.equal(
    svc.spec.ports.map((p: any) => [p.name, p.port, p.appProtocol]),
    [["grpc", 9090, "grpc"], ["http", 8080, "http"]],
  );
  assert.ok(!objs.some((o) => o.kind === "Service" && o.spec?.type === "LoadBalancer"));
  assert.is(get(objs, "PodDisruptionBudget", "hfi-control-plane").spec.minAvailable, 1);
});

test("base: WasmPlugin pulls the OCI filter, fails open and points at the control plane", () => {
  const objs = base();
  const w = get(objs, "WasmPlugin", "hfi-fault-injection", "demo");
  assert.match(w.spec.url, /^oci:\/\/.+\/hfi-filter:[\w.-]+$/);
  assert.is(w.spec.imagePullPolicy, "IfNotPresent");
  assert.is(w.spec.phase, "AUTHN");
  assert.is(w.spec.failStrategy, "FAIL_OPEN");
  assert.match(w.spec.sha256, /^[a-f0-9]{64}$/, "the base pins the filter image's digest");
  assert.is(w.spec.pluginConfig.control_plane_cluster, "outbound|9090||hfi-control-plane.boifi.svc.cluster.local");
  assert.equal(w.spec.match, [{ mode: "SERVER" }]);
  const out = get(objs, "WasmPlugin", "hfi-fault-injection-outbound", "demo");
  assert.equal(out.spec.match, [{ mode: "CLIENT" }], "the outbound plugin runs on the calls workloads make");
  assert.is(out.spec.pluginConfig.direction, "outbound");
  assert.is(out.spec.url, w.spec.url);
  assert.is(out.spec.pluginConfig.control_plane_cluster, w.spec.pluginConfig.control_plane_cluster);
  assert.is(get(objs, "Namespace", "demo", "").metadata.labels["istio-injection"], "enabled");
  assert.is(get(objs, "PeerAuthentication", "default").spec.mtls.mode, "STRICT");
});

test("dev overlay: one etcd member, one replica, relaxed PDBs, dev registry", () => {
  const objs = dev();
  const sts = get(objs, "StatefulSet", "hfi-etcd");
  assert.is(sts.spec.replicas, 1);
  assert.is(sts.spec.template.spec.affinity, undefined);
  assert.is(get(objs, "Deployment", "hfi-control-plane").spec.replicas, 1);
  assert.is(get(objs, "PodDisruptionBudget", "hfi-etcd").spec.minAvailable, 0);
  assert.is(get(objs, "PodDisruptionBudget", "hfi-control-plane").spec.minAvailable, 0);
  assert.is(get(objs, "Deployment", "hfi-control-plane").spec.template.spec.containers[0].image, "hfi/hfi-control-plane:dev");
  assert.match(get(objs, "WasmPlugin", "hfi-fault-injection", "demo").spec.url, /^oci:\/\/hfi-registry\.hfi-registry\.svc\.cluster\.local:5000\//);
  assert.match(get(objs, "WasmPlugin", "hfi-fault-injection-outbound", "demo").spec.url, /^oci:\/\/hfi-registry\.hfi-registry\.svc\.cluster\.local:5000\//);
  assert.is(get(objs, "WasmPlugin", "hfi-fault-injection", "demo").spec.sha256, undefined, "dev re-pushes its tag: no pin");
  assert.is(get(objs, "WasmPlugin", "hfi-fault-injection-outbound", "demo").spec.sha256, undefined);
  assert.is(get(objs, "Deployment", "frontend", "demo").spec.replicas, 3);
  get(objs, "Deployment", "productcatalog", "demo");
});

// ------------------------------------------------------------ mutations

type Mutation = [name: string, mutate: (objs: K8sObject[]) => void, expected: RegExp];

const cp = (o: K8sObject[]) => get(o, "Deployment", "hfi-control-plane").spec.template.spec.containers[0];
const etcd = (o: K8sObject[]) => get(o, "StatefulSet", "hfi-etcd");
const plugin = (o: K8sObject[]) => get(o, "WasmPlugin", "hfi-fault-injection", "demo");
const outboundPlugin = (o: K8sObject[]) => get(o, "WasmPlugin", "hfi-fault-injection-outbound", "demo");
const cpSvc = (o: K8sObject[]) => get(o, "Service", "hfi-control-plane");

const MUTATIONS: Mutation[] = [
  ["control-plane Service as LoadBalancer", (o) => (cpSvc(o).spec.type = "LoadBalancer"), /Service boifi\/hfi-control-plane: spec.type: LoadBalancer/],
  ["readiness probe on the liveness path", (o) => (cp(o).readinessProbe.httpGet.path = "/healthz"), /must differ from the liveness path/],
  ["probe path the server does not serve", (o) => (cp(o).livenessProbe.httpGet.path = "/live"), /livenessProbe.httpGet.path: \/live is not a route/],
  ["env var the server does not read", (o) => cp(o).env.push({ name: "HFI_ETCD_ENDPOINT", value: "x" }), /HFI_ETCD_ENDPOINT is not read by hfi server/],
  ["API token as a literal", (o) => (cp(o).env.find((e: any) => e.name === "HFI_API_TOKEN").valueFrom = undefined, cp(o).env.find((e: any) => e.name === "HFI_API_TOKEN").value = "secret"), /take it from a Secret/],
  ["etcd endpoint to a missing Service", (o) => (cp(o).env.find((e: any) => e.name === "HFI_ETCD_ENDPOINTS").value = "http://etcd.boifi.svc:2379"), /HFI_ETCD_ENDPOINTS: http:\/\/etcd.boifi.svc:2379 is not a Service/],
  ["WasmPlugin cluster on the wrong port", (o) => (plugin(o).spec.pluginConfig.control_plane_cluster = "outbound|9091||hfi-control-plane.boifi.svc.cluster.local"), /has no port 9091/],
  ["WasmPlugin cluster in the wrong namespace", (o) => (plugin(o).spec.pluginConfig.control_plane_cluster = "outbound|9090||hfi-control-plane.hfi.svc.cluster.local"), /Service hfi\/hfi-control-plane is not part of the install/],
  ["WasmPlugin cluster name malformed", (o) => (plugin(o).spec.pluginConfig.control_plane_cluster = "hfi-control-plane:9090"), /control_plane_cluster: "hfi-control-plane:9090" is not outbound/],
  ["WasmPlugin failing closed", (o) => (plugin(o).spec.failStrategy = "FAIL_CLOSE"), /spec.failStrategy: must be FAIL_OPEN or FAIL_RELOAD/],
  ["WasmPlugin fetched over plain HTTP", (o) => (plugin(o).spec.url = "http://nginx/hfi.wasm"), /spec.url: must be oci:\/\//],
  ["WasmPlugin field typo", (o) => (plugin(o).spec.failstrategy = "FAIL_OPEN"), /spec.failstrategy: unknown WasmPlugin field/],
  ["outbound WasmPlugin on the server side", (o) => (outboundPlugin(o).spec.match = [{ mode: "SERVER" }]), /mode must be CLIENT for pluginConfig.direction outbound \(got SERVER\)/],
  ["inbound WasmPlugin on both sides", (o) => (plugin(o).spec.match = [{ mode: "CLIENT_AND_SERVER" }]), /mode must be SERVER for pluginConfig.direction inbound/],
  ["WasmPlugin direction typo", (o) => (outboundPlugin(o).spec.pluginConfig.direction = "out"), /spec.pluginConfig.direction: must be inbound or outbound \(got out\)/],
  ["WasmPlugin sha256 with a prefix", (o) => (plugin(o).spec.sha256 = `sha256:${"a".repeat(64)}`), /spec.sha256: must be 64 lower-case hex digits, no sha256: prefix/],
  ["gRPC port without appProtocol", (o) => delete cpSvc(o).spec.ports[0].appProtocol, /appProtocol: grpc/],
  ["Service selector typo", (o) => (cpSvc(o).spec.selector = { "app.kubernetes.io/name": "hfi-controlplane" }), /spec.selector: .* matches no pod template/],
  ["Service targetPort renamed", (o) => (cpSvc(o).spec.ports[1].targetPort = "web"), /targetPort: web is not a container port/],
  ["etcd scaled without its member list", (o) => (etcd(o).spec.replicas = 5), /lists 3 members but replicas is 5/],
  ["etcd data on emptyDir", (o) => {
    const s = etcd(o);
    delete s.spec.volumeClaimTemplates;
    s.spec.template.spec.volumes = [{ name: "data", emptyDir: {} }];
  }, /ETCD_DATA_DIR: .* must be on a volumeClaimTemplates volume/],
  ["etcd peer Service not headless", (o) => delete get(o, "Service", "hfi-etcd-peer").spec.clusterIP, /clusterIP: the peer Service must be headless/],
  ["control plane running as root", (o) => {
    const pod = get(o, "Deployment", "hfi-control-plane").spec.template.spec;
    pod.securityContext.runAsNonRoot = false;
    delete cp(o).securityContext.runAsNonRoot;
  }, /runAsNonRoot: must be true \(container control-plane\)/],
  ["writable root filesystem", (o) => (cp(o).securityContext.readOnlyRootFilesystem = false), /readOnlyRootFilesystem: must be true/],
  ["PolicyService open to every workload", (o) => {
    const a = get(o, "AuthorizationPolicy", "hfi-control-plane");
    a.spec.rules[1].from[0].source.principals = ["*"];
  }, /hfi.v1.PolicyService\/ApplyPolicy: reachable by any workload/],
  ["config stream not allowed", (o) => get(o, "AuthorizationPolicy", "hfi-control-plane").spec.rules.shift(), /StreamConfig: no rule lets sidecars open the config stream/],
  ["schema: replicas as a string", (o) => (get(o, "Deployment", "hfi-control-plane").spec.replicas = "two"), /Deployment boifi\/hfi-control-plane: schema: .*replicas must be integer/],
  ["schema: bad WasmPlugin phase", (o) => (plugin(o).spec.phase = "AUTHORIZATION"), /WasmPlugin demo\/hfi-fault-injection: schema: .*phase/],
  ["PDB that blocks every drain", (o) => (get(o, "PodDisruptionBudget", "hfi-etcd").spec.minAvailable = 3), /minAvailable: 3 >= 3 replicas/],
  ["container field typo", (o) => {
    const c = cp(o);
    c.readinessprobe = c.readinessProbe;
    delete c.readinessProbe;
  }, /containers\[0\]\.readinessprobe: unknown container field/],
  ["probe field typo", (o) => (cp(o).livenessProbe.periodSecond = 10), /livenessProbe.periodSecond: unknown probe field/],
  ["unpinned image", (o) => (cp(o).image = "hfi/hfi-control-plane"), /image: pin a tag or digest/],
];

for (const [name, mutate, expected] of MUTATIONS) {
  test(`mutation is reported: ${name}`, () => {
    const objs = base();
    assert.equal(validateManifests(objs).map(formatProblem), [], "base is clean before the mutation");
    mutate(objs);
    const problems = validateManifests(objs).map(formatProblem);
    assert.ok(problems.some((p) => expected.test(p)), `expected ${expected} in:\n${problems.join("\n") || "(no problems)"}`);
  });
}

test.run();
