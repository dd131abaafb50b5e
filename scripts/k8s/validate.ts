// Static checks for rendered HFI manifests: each object against the Kubernetes
// / Istio schemas (kubernetes-models, @kubernetes-models/istio), then the
// cross-references a schema cannot see (selectors, ports, the WasmPlugin's
// cluster name, probe paths, env vars the server reads, etcd membership,
// security context). Every check returns problems instead of throwing, so the
// tests can break a field in memory and assert the right problem appears.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { SERVER_OPTIONS } from "../../server/config.ts";
import { objectId, podSpecs, REPO_ROOT, type K8sObject } from "./render.ts";

export interface Problem {
  object: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  return `${p.object}: ${p.message}`;
}

/** Names the rest of HFI relies on (server config, proto, filter). */
export const HFI = {
  namespace: "boifi",
  controlPlane: "hfi-control-plane",
  grpcPort: 9090,
  httpPort: 8080,
  etcd: "hfi-etcd",
  wasmPlugin: "hfi-fault-injection",
  configService: "/hfi.v1.ConfigDiscoveryService/",
  policyService: "/hfi.v1.PolicyService/",
} as const;

// ---------------------------------------------------------------- schemas

const require = createRequire(import.meta.url);

/** Kubernetes and Istio models by apiVersion/kind. Istio GA versions the
 * models package does not carry yet (security.istio.io/v1 PeerAuthentication)
 * are checked against the older version's schema, which has the same spec. */
function schemaProblems(o: K8sObject): string[] {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  const paths: string[] = [];
  if (group.endsWith("istio.io")) {
    const versions = [version, ...(version === "v1" ? ["v1beta1", "v1alpha1"] : version === "v1beta1" ? ["v1alpha1"] : [])];
    for (const v of versions) paths.push(`@kubernetes-models/istio/${group}/${v}/${o.kind}`);
  } else {
    paths.push(`kubernetes-models/${group ? `${group}/` : ""}${version}/${o.kind}`);
  }
  for (const p of paths) {
    let mod: Record<string, any>;
    try {
      mod = require(p);
    } catch {
      continue;
    }
    const Model = mod[o.kind];
    if (typeof Model !== "function") continue;
    // Validate a copy with the model's own apiVersion (same schema, see above).
    const copy = { ...structuredClone(o), apiVersion: Model.apiVersion ?? o.apiVersion };
    try {
      new Model(copy).validate();
      return [];
    } catch (err) {
      return [`schema: ${(err as Error).message}`];
    }
  }
  return [`schema: no Kubernetes/Istio schema known for ${o.apiVersion} ${o.kind}`];
}

// Istio 1.24 WasmPlugin fields newer than the models package's schema.
const WASM_SPEC_FIELDS = new Set([
  "selector", "targetRef", "targetRefs", "url", "sha256", "imagePullPolicy", "imagePullSecret",
  "pluginConfig", "pluginName", "phase", "priority", "vmConfig", "match", "type", "failStrategy",
]);
const FAIL_STRATEGIES = new Set(["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"]);

// The models' validators accept unknown fields, so a typo such as
// "readinessprobe" would pass silently; these are the fields of the objects
// HFI's manifests tune most (Kubernetes 1.28-1.32).
const CONTAINER_FIELDS = new Set([
  "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "resizePolicy",
  "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
  "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty",
]);
const PROBE_FIELDS = new Set([
  "exec", "httpGet", "tcpSocket", "grpc", "initialDelaySeconds", "periodSeconds", "timeoutSeconds",
  "successThreshold", "failureThreshold", "terminationGracePeriodSeconds",
]);
const SECURITY_CONTEXT_FIELDS = new Set([
  "allowPrivilegeEscalation", "appArmorProfile", "capabilities", "privileged", "procMount", "readOnlyRootFilesystem",
  "runAsGroup", "runAsNonRoot", "runAsUser", "seLinuxOptions", "seccompProfile", "windowsOptions",
]);

function unknownFields(obj: unknown, known: Set<string>): string[] {
  return obj && typeof obj === "object" ? Object.keys(obj).filter((k) => !known.has(k)) : [];
}

// ---------------------------------------------------------------- helpers

const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const ns = (o: K8sObject) => o.metadata.namespace ?? "default";

function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function podLabels(o: K8sObject): Record<string, string> | undefined {
  return o.kind === "Pod" ? o.metadata.labels : o.spec?.template?.metadata?.labels;
}

/** Workloads in `namespace` whose pod template carries all `selector` labels. */
function selectedWorkloads(objs: K8sObject[], namespace: string, selector: Record<string, string> | undefined): K8sObject[] {
  return objs.filter((o) => podSpecs(o).length > 0 && ns(o) === namespace && labelsMatch(selector, podLabels(o)));
}

function containers(o: K8sObject): any[] {
  return podSpecs(o).flatMap((s) => [...(s.containers ?? []), ...(s.initContainers ?? [])]);
}

function containerPorts(o: K8sObject): any[] {
  return podSpecs(o).flatMap((s) => (s.containers ?? []).flatMap((c: any) => c.ports ?? []));
}

function portMatches(target: number | string, ports: any[]): boolean {
  return ports.some((p) => (typeof target === "number" ? p.containerPort === target : p.name === target));
}

/** HTTP paths the server source handles: every "/..." string literal in server/http. */
export function serverHttpPaths(dir = path.join(REPO_ROOT, "server", "http")): Set<string> {
  const out = new Set<string>();
  if (!fs.existsSync(dir)) return out;
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    if (!f.endsWith(".ts")) continue;
    const text = fs.readFileSync(path.join(dir, f), "utf8");
    for (const m of text.matchAll(/["'`](\/[A-Za-z0-9_./-]*)["'`]/g)) out.add(m[1]);
  }
  return out;
}

export interface ValidateOptions {
  /** HTTP paths the server serves (default: scanned from server/http). */
  httpPaths?: Set<string>;
  /** Env vars `hfi server` reads (default: SERVER_OPTIONS). */
  serverEnv?: Set<string>;
}

// ---------------------------------------------------------------- checks

export function validateManifests(objs: K8sObject[], opts: ValidateOptions = {}): Problem[] {
  const problems: Problem[] = [];
  const add = (o: K8sObject | string, message: string) =>
    problems.push({ object: typeof o === "string" ? o : objectId(o), message });
  const httpPaths = opts.httpPaths ?? serverHttpPaths();
  const serverEnv = opts.serverEnv ?? new Set(SERVER_OPTIONS.map((o) => o.env));

  for (const o of objs) for (const m of schemaProblems(o)) add(o, m);

  checkNamespaces(objs, add);
  checkServices(objs, add);
  checkWorkloads(objs, add);
  checkPdbs(objs, add);
  checkControlPlane(objs, add, httpPaths, serverEnv);
  checkEtcd(objs, add);
  checkWasmPlugins(objs, add);
  checkAuthorization(objs, add);
  return problems;
}

type Add = (o: K8sObject | string, message: string) => void;

function checkNamespaces(objs: K8sObject[], add: Add): void {
  const declared = new Map(byKind(objs, "Namespace").map((n) => [n.metadata.name, n]));
  for (const o of objs) {
    if (o.kind === "Namespace" || !o.metadata.namespace) continue;
    if (!declared.has(o.metadata.namespace)) add(o, `metadata.namespace: namespace ${o.metadata.namespace} is not part of the install`);
  }
  for (const w of byKind(objs, "WasmPlugin")) {
    const n = declared.get(ns(w));
    if (n && n.metadata.labels?.["istio-injection"] !== "enabled" && !n.metadata.labels?.["istio.io/rev"]) {
      add(n, `metadata.labels: namespace of WasmPlugin ${w.metadata.name} needs istio-injection: enabled (or istio.io/rev)`);
    }
  }
}

function checkServices(objs: K8sObject[], add: Add): void {
  for (const s of byKind(objs, "Service")) {
    const type = s.spec?.type ?? "ClusterIP";
    if (type === "LoadBalancer") add(s, "spec.type: LoadBalancer exposes HFI outside the cluster; use ClusterIP");
    const ports: any[] = s.spec?.ports ?? [];
    for (const [i, p] of ports.entries()) {
      if (/^grpc(-|$)/.test(p.name ?? "") && p.appProtocol !== "grpc") {
        add(s, `spec.ports[${i}].appProtocol: gRPC port ${p.name} must set appProtocol: grpc (Istio builds an HTTP/2 cluster from it)`);
      }
    }
    if (!s.spec?.selector) continue;
    const targets = selectedWorkloads(objs, ns(s), s.spec.selector);
    if (targets.length === 0) {
      add(s, `spec.selector: ${JSON.stringify(s.spec.selector)} matches no pod template in namespace ${ns(s)}`);
      continue;
    }
    for (const [i, p] of ports.entries()) {
      const target = p.targetPort ?? p.port;
      for (const w of targets) {
        if (!portMatches(target, containerPorts(w))) {
          add(s, `spec.ports[${i}].targetPort: ${target} is not a container port of ${objectId(w)}`);
        }
      }
    }
  }
}

function checkWorkloads(objs: K8sObject[], add: Add): void {
  for (const w of objs) {
    const specs = podSpecs(w);
    if (specs.length === 0) continue;
    const labels = podLabels(w);
    const sel = w.spec?.selector?.matchLabels;
    if (w.kind !== "Pod" && w.kind !== "Job" && w.kind !== "CronJob" && !labelsMatch(sel, labels)) {
      add(w, "spec.selector.matchLabels: does not match spec.template.metadata.labels");
    }
    for (const spec of specs) {
      const podSc = spec.securityContext ?? {};
      for (const [i, c] of (spec.containers ?? []).entries()) {
        const at = `spec.template.spec.containers[${i}]`;
        for (const k of unknownFields(c, CONTAINER_FIELDS)) add(w, `${at}.${k}: unknown container field (container ${c.name})`);
        for (const k of unknownFields(c.securityContext, SECURITY_CONTEXT_FIELDS)) add(w, `${at}.securityContext.${k}: unknown field (container ${c.name})`);
        for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
          for (const k of unknownFields(c[probe], PROBE_FIELDS)) add(w, `${at}.${probe}.${k}: unknown probe field (container ${c.name})`);
        }
        const sc = c.securityContext ?? {};
        const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
        const uid = sc.runAsUser ?? podSc.runAsUser;
        if (nonRoot !== true) add(w, `${at}.securityContext.runAsNonRoot: must be true (container ${c.name})`);
        if (uid === 0) add(w, `${at}.securityContext.runAsUser: must not be 0 (container ${c.name})`);
        if (sc.allowPrivilegeEscalation !== false) add(w, `${at}.securityContext.allowPrivilegeEscalation: must be false (container ${c.name})`);
        if (!(sc.capabilities?.drop ?? []).includes("ALL")) add(w, `${at}.securityContext.capabilities.drop: must include ALL (container ${c.name})`);
        if (sc.readOnlyRootFilesystem !== true) add(w, `${at}.securityContext.readOnlyRootFilesystem: must be true (container ${c.name})`);
        const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
        if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") add(w, `${at}.securityContext.seccompProfile: must be RuntimeDefault (container ${c.name})`);
        if (!c.resources?.requests?.memory || !c.resources?.requests?.cpu) add(w, `${at}.resources.requests: cpu and memory are required (container ${c.name})`);
        if (!c.resources?.limits?.memory) add(w, `${at}.resources.limits.memory: required (container ${c.name})`);
        if (typeof c.image !== "string" || /:latest$/.test(c.image) || !/[:@]/.test(c.image.split("/").pop() ?? "")) {
          add(w, `${at}.image: pin a tag or digest, not "${c.image}" (container ${c.name})`);
        }
        const mounts = new Set((c.volumeMounts ?? []).map((m: any) => m.name));
        const vols = new Set([
          ...(spec.volumes ?? []).map((v: any) => v.name),
          ...(w.spec?.volumeClaimTemplates ?? []).map((v: any) => v.metadata?.name),
        ]);
        for (const m of mounts) if (!vols.has(m)) add(w, `${at}.volumeMounts: volume ${m} is not defined`);
        for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
          const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
          if (port !== undefined && !portMatches(port, c.ports ?? [])) {
            add(w, `${at}.${probe}: port ${port} is not a port of container ${c.name}`);
          }
        }
      }
    }
  }
}

function checkPdbs(objs: K8sObject[], add: Add): void {
  for (const pdb of byKind(objs, "PodDisruptionBudget")) {
    const targets = selectedWorkloads(objs, ns(pdb), pdb.spec?.selector?.matchLabels);
    if (targets.length !== 1) {
      add(pdb, `spec.selector: must select exactly one workload (selects ${targets.length})`);
      continue;
    }
    const replicas = targets[0].spec?.replicas ?? 1;
    const min = pdb.spec?.minAvailable;
    if (typeof min === "number" && min >= replicas) {
      add(pdb, `spec.minAvailable: ${min} >= ${replicas} replicas of ${objectId(targets[0])} would block every node drain`);
    }
  }
}

function find(objs: K8sObject[], kind: string, namespace: string, name: string): K8sObject | undefined {
  return objs.find((o) => o.kind === kind && ns(o) === namespace && o.metadata.name === name);
}

function checkControlPlane(objs: K8sObject[], add: Add, httpPaths: Set<string>, serverEnv: Set<string>): void {
  const id = `Deployment ${HFI.namespace}/${HFI.controlPlane}`;
  const d = find(objs, "Deployment", HFI.namespace, HFI.controlPlane);
  if (!d) return add(id, "missing");
  const c = d.spec?.template?.spec?.containers?.[0];
  if (!c) return add(d, "spec.template.spec.containers: empty");
  const ports = c.ports ?? [];
  if (!ports.some((p: any) => p.name === "grpc" && p.containerPort === HFI.grpcPort)) add(d, `containers[0].ports: needs grpc ${HFI.grpcPort}`);
  if (!ports.some((p: any) => p.name === "http" && p.containerPort === HFI.httpPort)) add(d, `containers[0].ports: needs http ${HFI.httpPort}`);

  for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
    const p = c[probe]?.httpGet?.path;
    if (c[probe] && !p && probe !== "startupProbe") add(d, `containers[0].${probe}: must be an httpGet probe`);
    if (p && !httpPaths.has(p)) add(d, `containers[0].${probe}.httpGet.path: ${p} is not a route of the server (server/http)`);
  }
  if (!c.livenessProbe) add(d, "containers[0].livenessProbe: required");
  if (!c.readinessProbe) add(d, "containers[0].readinessProbe: required");
  if (c.livenessProbe?.httpGet?.path && c.livenessProbe.httpGet.path === c.readinessProbe?.httpGet?.path) {
    add(d, "containers[0].readinessProbe.httpGet.path: must differ from the liveness path (readiness checks the store)");
  }

  const env = new Map<string, any>((c.env ?? []).map((e: any) => [e.name, e]));
  for (const name of env.keys()) {
    if (!serverEnv.has(name)) add(d, `containers[0].env: ${name} is not read by hfi server (server/config.ts SERVER_OPTIONS)`);
  }
  const listen = (name: string, port: number) => {
    const v = env.get(name)?.value;
    if (v !== undefined && !v.endsWith(`:${port}`)) add(d, `containers[0].env.${name}: ${v} does not listen on container port ${port}`);
  };
  listen("HFI_GRPC_ADDR", HFI.grpcPort);
  listen("HFI_HTTP_ADDR", HFI.httpPort);
  if (!env.has("HFI_API_TOKEN") && !env.has("HFI_API_TOKEN_FILE")) {
    add(d, "containers[0].env: HFI_API_TOKEN (or _FILE) must be set: without it the management API has no auth");
  } else if (env.get("HFI_API_TOKEN")?.value) {
    add(d, "containers[0].env.HFI_API_TOKEN: take it from a Secret (valueFrom.secretKeyRef), not a literal");
  }
  const endpoints: string = env.get("HFI_ETCD_ENDPOINTS")?.value ?? "";
  if (!endpoints) add(d, "containers[0].env.HFI_ETCD_ENDPOINTS: required (replicas share policies through etcd)");
  for (const ep of endpoints.split(",").filter(Boolean)) {
    const m = /^https?:\/\/([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?:(\d+)$/.exec(ep);
    const svc = m && find(objs, "Service", m[2], m[1]);
    if (!m || !svc) add(d, `containers[0].env.HFI_ETCD_ENDPOINTS: ${ep} is not a Service of the install`);
    else if (!(svc.spec?.ports ?? []).some((p: any) => p.port === Number(m[3]))) add(d, `containers[0].env.HFI_ETCD_ENDPOINTS: Service ${m[1]} has no port ${m[3]}`);
  }

  const s = find(objs, "Service", HFI.namespace, HFI.controlPlane);
  if (!s) return add(`Service ${HFI.namespace}/${HFI.controlPlane}`, "missing");
  const grpc = (s.spec?.ports ?? []).find((p: any) => p.port === HFI.grpcPort);
  if (!grpc || grpc.name !== "grpc" || grpc.appProtocol !== "grpc") {
    add(s, `spec.ports: port ${HFI.grpcPort} must be named grpc with appProtocol: grpc`);
  }
  if (!(s.spec?.ports ?? []).some((p: any) => p.port === HFI.httpPort && p.name === "http")) add(s, `spec.ports: port ${HFI.httpPort} named http required`);
}

function checkEtcd(objs: K8sObject[], add: Add): void {
  const sts = find(objs, "StatefulSet", HFI.namespace, HFI.etcd);
  if (!sts) return add(`StatefulSet ${HFI.namespace}/${HFI.etcd}`, "missing");
  const replicas: number = sts.spec?.replicas ?? 1;
  const peerSvc = find(objs, "Service", HFI.namespace, sts.spec?.serviceName ?? "");
  if (!peerSvc) add(sts, `spec.serviceName: Service ${sts.spec?.serviceName} is not part of the install`);
  else {
    if (peerSvc.spec?.clusterIP !== "None") add(peerSvc, "spec.clusterIP: the peer Service must be headless (None)");
    if (peerSvc.spec?.publishNotReadyAddresses !== true) add(peerSvc, "spec.publishNotReadyAddresses: must be true so members resolve each other before they are Ready");
  }
  if (replicas > 1 && sts.spec?.podManagementPolicy !== "Parallel") {
    add(sts, "spec.podManagementPolicy: must be Parallel (members cannot be Ready before quorum)");
  }
  const c = sts.spec?.template?.spec?.containers?.[0];
  const env = new Map<string, string>((c?.env ?? []).map((e: any) => [e.name, e.value]));
  const cluster = (env.get("ETCD_INITIAL_CLUSTER") ?? "").split(",").filter(Boolean);
  if (cluster.length !== replicas) add(sts, `ETCD_INITIAL_CLUSTER: lists ${cluster.length} members but replicas is ${replicas}`);
  for (const [i, m] of cluster.entries()) {
    const want = `${HFI.etcd}-${i}=http://${HFI.etcd}-${i}.${sts.spec?.serviceName}.${HFI.namespace}.svc:2380`;
    if (m !== want) add(sts, `ETCD_INITIAL_CLUSTER: member ${i} is "${m}", expected "${want}"`);
  }
  const dataDir = env.get("ETCD_DATA_DIR") ?? "";
  const claims = new Set((sts.spec?.volumeClaimTemplates ?? []).map((v: any) => v.metadata?.name));
  const onClaim = (c?.volumeMounts ?? []).some((m: any) => claims.has(m.name) && dataDir.startsWith(m.mountPath));
  if (!onClaim) add(sts, `ETCD_DATA_DIR: ${dataDir || "(unset)"} must be on a volumeClaimTemplates volume (emptyDir loses every policy on restart)`);
  if (!/^(quay\.io\/coreos\/etcd:v3\.5\.|registry\.k8s\.io\/etcd:3\.5\.)/.test(c?.image ?? "")) add(sts, `image: ${c?.image} is not etcd 3.5`);
}

function checkWasmPlugins(objs: K8sObject[], add: Add): void {
  const plugins = byKind(objs, "WasmPlugin");
  if (!plugins.some((p) => p.metadata.name === HFI.wasmPlugin)) add(`WasmPlugin ${HFI.wasmPlugin}`, "missing");
  for (const p of plugins) {
    const spec = p.spec ?? {};
    for (const k of Object.keys(spec)) if (!WASM_SPEC_FIELDS.has(k)) add(p, `spec.${k}: unknown WasmPlugin field`);
    if (spec.failStrategy !== undefined && !FAIL_STRATEGIES.has(spec.failStrategy)) add(p, `spec.failStrategy: must be one of ${[...FAIL_STRATEGIES].join(", ")}`);
    // FAIL_RELOAD (Istio >= 1.27) is FAIL_OPEN's opt-in alternative (k8s/overlays/fail-reload); FAIL_CLOSE never.
    if (spec.failStrategy !== "FAIL_OPEN" && spec.failStrategy !== "FAIL_RELOAD")
      add(p, "spec.failStrategy: must be FAIL_OPEN or FAIL_RELOAD (a broken filter must never break traffic)");
    if (!/^oci:\/\/[^/]+\/.+[:@].+/.test(spec.url ?? "")) add(p, `spec.url: must be oci://REGISTRY/IMAGE:TAG (got ${spec.url})`);
    // The CRD's pattern: 64 hex digits (the image digest without "sha256:").
    if (spec.sha256 !== undefined && !/^[a-f0-9]{64}$/.test(spec.sha256)) add(p, `spec.sha256: must be 64 lower-case hex digits, no sha256: prefix (got ${spec.sha256})`);
    if (spec.phase !== "AUTHN") add(p, "spec.phase: must be AUTHN");
    // The filter learns its direction from the plugin configuration only: it must agree with the match mode.
    const modes: string[] = (spec.match ?? []).map((m: any) => m.mode ?? "CLIENT_AND_SERVER");
    const direction = spec.pluginConfig?.direction ?? "inbound";
    if (direction !== "inbound" && direction !== "outbound") add(p, `spec.pluginConfig.direction: must be inbound or outbound (got ${direction})`);
    else if (modes.length !== 1 || modes[0] !== (direction === "outbound" ? "CLIENT" : "SERVER"))
      add(p, `spec.match: mode must be ${direction === "outbound" ? "CLIENT" : "SERVER"} for pluginConfig.direction ${direction} (got ${modes.join(", ") || "none"})`);
    const cluster: string = spec.pluginConfig?.control_plane_cluster ?? "";
    const m = /^outbound\|(\d+)\|\|([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(cluster);
    if (!m) {
      add(p, `spec.pluginConfig.control_plane_cluster: "${cluster}" is not outbound|PORT||SERVICE.NAMESPACE.svc.cluster.local`);
      continue;
    }
    const [, port, name, namespace] = m;
    const svc = find(objs, "Service", namespace, name);
    if (!svc) {
      add(p, `spec.pluginConfig.control_plane_cluster: Service ${namespace}/${name} is not part of the install`);
      continue;
    }
    const sp = (svc.spec?.ports ?? []).find((x: any) => x.port === Number(port));
    if (!sp) add(p, `spec.pluginConfig.control_plane_cluster: Service ${namespace}/${name} has no port ${port}`);
    else if (sp.appProtocol !== "grpc") add(p, `spec.pluginConfig.control_plane_cluster: port ${port} of ${namespace}/${name} is not appProtocol grpc`);
  }
}

function checkAuthorization(objs: K8sObject[], add: Add): void {
  const cp = find(objs, "Deployment", HFI.namespace, HFI.controlPlane);
  const policies = byKind(objs, "AuthorizationPolicy").filter(
    (a) => ns(a) === HFI.namespace && cp && labelsMatch(a.spec?.selector?.matchLabels, podLabels(cp)),
  );
  const id = `AuthorizationPolicy ${HFI.namespace}/*`;
  if (policies.length === 0) return add(id, `no AuthorizationPolicy selects ${HFI.controlPlane}`);
  const rules = policies.flatMap((a) => (a.spec?.action ?? "ALLOW") === "ALLOW" ? (a.spec?.rules ?? []).map((r: any) => ({ a, r })) : []);
  const cpPorts = cp ? containerPorts(cp) : [];
  for (const { a, r } of rules) {
    for (const to of r.to ?? []) {
      for (const port of to.operation?.ports ?? []) {
        if (!portMatches(Number(port), cpPorts)) add(a, `rules.to.operation.ports: ${port} is not a container port of ${HFI.controlPlane}`);
      }
    }
  }
  // Which sources may reach a path: "*" (any) unless every matching rule names principals.
  const openTo = (p: string) =>
    rules.filter(({ r }) =>
      (r.to ?? [{}]).some((to: any) => {
        const paths: string[] | undefined = to.operation?.paths;
        return !paths || paths.some((x) => x === p || (x.endsWith("*") && p.startsWith(x.slice(0, -1))));
      }),
    );
  const sources = (rs: { r: any }[]) => rs.flatMap(({ r }) => (r.from ?? [{ source: {} }]).map((f: any) => f.source ?? {}));
  const anyone = (s: any) => !s.principals && !s.namespaces && !s.ipBlocks && !s.remoteIpBlocks && !s.requestPrincipals;
  const wildcard = (s: any) => anyone(s) || (s.principals ?? []).includes("*");

  const stream = `${HFI.configService}StreamConfig`;
  if (openTo(stream).length === 0) add(id, `${stream}: no rule lets sidecars open the config stream`);
  for (const method of ["ApplyPolicy", "DeletePolicy"]) {
    const p = `${HFI.policyService}${method}`;
    const srcs = sources(openTo(p));
    if (srcs.length === 0) add(id, `${p}: no rule lets an admin call it`);
    if (srcs.some(wildcard)) add(id, `${p}: reachable by any workload; restrict it to admin principals`);
  }
  const rest = sources(openTo("/v1/policies"));
  if (rest.some(wildcard)) add(id, "/v1/policies: REST management API reachable by any workload; restrict it to admin principals");
}
