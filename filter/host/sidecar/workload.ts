// Who a local sidecar's workload is, as Istio's injector would describe it to
// Envoy (node id, cluster, metadata: WORKLOAD_NAME is the Deployment name,
// LABELS the pod's labels), and the plugin configuration the sidecar hands
// the filter. The filter derives the service from these as Istio's telemetry
// does (canonical-name, app.kubernetes.io/name, app labels, then WORKLOAD_NAME).

/** The cluster name the filter uses for the control plane in a mesh (Istio outbound cluster). */
export const CONTROL_PLANE_CLUSTER = "outbound|9090||hfi-control-plane.boifi.svc.cluster.local";

export interface Workload {
  /** Deployment / workload name (node metadata WORKLOAD_NAME); default: service. */
  workload?: string;
  /** Service name: sets the pod label app=<service> (unless labels set app). */
  service?: string;
  namespace: string;
  /** Pod name (node metadata NAME); default <workload>-local. */
  pod?: string;
  /** Pod labels (node metadata LABELS). */
  labels?: Record<string, string>;
  /** Kubernetes service account (node metadata SERVICE_ACCOUNT, as istio-agent sets it); default "default". */
  serviceAccount?: string;
}

/** The workload name, or an error naming the flags when neither is given. */
export function workloadName(o: Pick<Workload, "workload" | "service">): string {
  const name = o.workload || o.service;
  if (!name) throw new Error("--workload or --service: one of them is required (the workload name)");
  return name;
}

/** Istio-like node metadata for a workload. */
export function nodeFor(o: Workload) {
  const name = workloadName(o);
  const pod = o.pod ?? `${name}-local`;
  const labels: Record<string, string> = { ...(o.service ? { app: o.service } : {}), ...o.labels };
  const canonical = labels["service.istio.io/canonical-name"] ?? labels["app.kubernetes.io/name"] ?? labels.app ?? name;
  return {
    id: `sidecar~127.0.0.1~${pod}.${o.namespace}~${o.namespace}.svc.cluster.local`,
    cluster: `${canonical}.${o.namespace}`,
    metadata: {
      WORKLOAD_NAME: name,
      NAMESPACE: o.namespace,
      NAME: pod,
      SERVICE_ACCOUNT: o.serviceAccount ?? "default",
      LABELS: labels,
    },
  };
}

/** The filter's plugin configuration (JSON) built from sidecar flags. */
export function pluginConfigFor(o: { token?: string; direction?: "inbound" | "outbound" }): string {
  const cfg: Record<string, unknown> = { control_plane_cluster: CONTROL_PLANE_CLUSTER };
  if (o.token) cfg.token = o.token;
  if (o.direction === "outbound") cfg.direction = "outbound";
  return JSON.stringify(cfg);
}
