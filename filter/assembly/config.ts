// Plugin configuration (JSON, buffer type 7) and the workload identity the
// filter subscribes with, resolved from the configuration and Envoy's node
// properties. Both fall back to defaults: a bad configuration never fails.

import * as abi from "./abi";
import { LogLevel, BufferType } from "./abi";
import { PairsView, decimal } from "./bytes";
import { decodeStringStruct } from "./snapshot";
import { parseStringMembers, jsonError, StringMembers } from "./json";
import * as rng from "./rng";
import { DEFAULT_REPORT_INTERVAL_MS } from "./counters";

const DEFAULT_CLUSTER = "outbound|9090||hfi-control-plane.boifi.svc.cluster.local";

export class PluginConfig {
  cluster: string = DEFAULT_CLUSTER;
  token: string = "";
  service: string = "";
  namespace: string = "";
  pod: string = "";
  /** Requests this VM may hold (delay / start delay) at once; more pass untouched. */
  maxActiveFaults: i32 = DEFAULT_MAX_ACTIVE_FAULTS;
  /** Fault reports go out at most this often (ms). */
  reportIntervalMs: i32 = DEFAULT_REPORT_INTERVAL_MS;
  /** The traffic this instance sees ("direction": "outbound" in the configuration, else inbound). */
  outbound: bool = false;
}

/** Default of max_active_faults: bounded memory per VM whatever the policies say. */
export const DEFAULT_MAX_ACTIVE_FAULTS: i32 = 1000;
const MAX_ACTIVE_FAULTS_LIMIT: i32 = 1000000;

export class Identity {
  service: string = "";
  /** Where service came from: "plugin configuration", "label <key>", "WORKLOAD_NAME" or "" (unknown). */
  serviceSource: string = "";
  version: string = "";
  versionSource: string = "";
  namespace: string = "";
  pod: string = "";
  /** Kubernetes service account (node metadata SERVICE_ACCOUNT); checked against the mesh identity. */
  serviceAccount: string = "";
  proxyId: string = "";
  labelKeys: string[] = [];
  labelValues: string[] = [];
}

export function readConfig(size: i32): PluginConfig {
  const cfg = new PluginConfig();
  if (size <= 0) {
    abi.log(LogLevel.Warn, "hfi: no plugin configuration; using defaults (cluster " + cfg.cluster + ")");
    return cfg;
  }
  const buf = abi.getBufferBytes(BufferType.PluginConfiguration, 0, <u32>size);
  if (buf == null || buf.len == 0) {
    if (buf != null) buf.free();
    abi.log(LogLevel.Warn, "hfi: plugin configuration unreadable; using defaults");
    return cfg;
  }
  const members = parseStringMembers(buf.ptr, buf.len);
  buf.free();
  if (members == null) {
    abi.log(LogLevel.Warn, "hfi: malformed plugin configuration (" + jsonError + "); using defaults");
    return cfg;
  }
  cfg.cluster = pick(members, "control_plane_cluster", "controlPlaneCluster", DEFAULT_CLUSTER);
  if (cfg.cluster.length == 0) cfg.cluster = DEFAULT_CLUSTER;
  cfg.token = pick(members, "token", "token", "");
  cfg.service = pick(members, "service", "service", "");
  cfg.namespace = pick(members, "namespace", "namespace", "");
  cfg.pod = pick(members, "pod", "pod", "");
  const maf = pick(members, "max_active_faults", "maxActiveFaults", "");
  if (maf.length > 0) {
    const n = wholeNumber(maf);
    if (n < 0 || n > MAX_ACTIVE_FAULTS_LIMIT)
      abi.log(LogLevel.Warn, "hfi: max_active_faults must be a whole number 0-" + MAX_ACTIVE_FAULTS_LIMIT.toString() + " (got " + maf + "); using " + DEFAULT_MAX_ACTIVE_FAULTS.toString());
    else cfg.maxActiveFaults = n;
  }
  const ri = pick(members, "report_interval_ms", "reportIntervalMs", "");
  if (ri.length > 0) {
    const n = wholeNumber(ri);
    if (n < 100 || n > 60000)
      abi.log(LogLevel.Warn, "hfi: report_interval_ms must be a whole number 100-60000 (got " + ri + "); using " + DEFAULT_REPORT_INTERVAL_MS.toString());
    else cfg.reportIntervalMs = n;
  }
  const dir = pick(members, "direction", "direction", "inbound");
  cfg.outbound = dir == "outbound";
  if (!cfg.outbound && dir != "inbound") abi.log(LogLevel.Warn, "hfi: plugin configuration direction \"" + dir + "\" unknown (want inbound or outbound); using inbound");
  return cfg;
}

/** "123" → 123; -1 for anything else (signs, fractions, exponents, > 9 digits). */
function wholeNumber(s: string): i32 {
  const b = String.UTF8.encode(s);
  return <i32>decimal(changetype<usize>(b), b.byteLength, 9);
}

function pick(m: StringMembers, a: string, b: string, dflt: string): string {
  if (m.has(a)) return m.get(a, dflt);
  return m.get(b, dflt);
}

function propertyString(segments: string[]): string {
  const v = abi.getProperty(segments);
  if (v == null) return "";
  const s = v.len > 0 ? String.UTF8.decodeUnsafe(v.ptr, <usize>v.len) : "";
  v.free();
  return s;
}

function hex8(v: u32): string {
  const digits = "0123456789abcdef";
  let s = "";
  for (let i = 28; i >= 0; i -= 4) s += digits.charAt(<i32>((v >> <u32>i) & 15));
  return s;
}

export function resolveIdentity(cfg: PluginConfig): Identity {
  const id = new Identity();
  // Labels: newer Envoy serialises a string map property as proxy-wasm pairs,
  // older ones as a google.protobuf.Struct; accept both.
  const labels = abi.getProperty(["node", "metadata", "LABELS"]);
  if (labels != null) {
    const view = new PairsView();
    if (view.parse(labels.ptr, labels.len)) {
      for (let i = 0; i < view.count && i < 64; i++) {
        id.labelKeys.push(String.UTF8.decodeUnsafe(view.keyPtr(i), <usize>view.keyLen(i)));
        id.labelValues.push(String.UTF8.decodeUnsafe(view.valPtr(i), <usize>view.valLen(i)));
      }
    } else if (!decodeStringStruct(labels.ptr, labels.len, id.labelKeys, id.labelValues)) {
      id.labelKeys.length = 0;
      id.labelValues.length = 0;
    }
    labels.free();
  }
  // Service and version as Istio's telemetry names them (canonical service):
  // the canonical labels, then the Kubernetes recommended ones, then app /
  // version, then the workload (Deployment) name the injector sets.
  id.service = cfg.service;
  if (id.service.length > 0) id.serviceSource = "plugin configuration";
  else resolveFrom(id, SERVICE_LABELS, true);
  if (id.service.length == 0) {
    id.service = propertyString(["node", "metadata", "WORKLOAD_NAME"]);
    if (id.service.length > 0) id.serviceSource = "WORKLOAD_NAME";
  }
  resolveFrom(id, VERSION_LABELS, false);
  id.namespace = cfg.namespace.length > 0 ? cfg.namespace : propertyString(["node", "metadata", "NAMESPACE"]);
  id.pod = cfg.pod.length > 0 ? cfg.pod : propertyString(["node", "metadata", "NAME"]);
  id.serviceAccount = propertyString(["node", "metadata", "SERVICE_ACCOUNT"]);
  let node = propertyString(["node", "id"]);
  if (node.length == 0) node = id.pod.length > 0 ? id.pod : "hfi-filter";
  // Unique per VM (one per Envoy worker): node id plus a random suffix.
  id.proxyId = node + "/" + hex8(rng.nextU32());
  return id;
}

const SERVICE_LABELS = ["service.istio.io/canonical-name", "app.kubernetes.io/name", "app"];
const VERSION_LABELS = ["service.istio.io/canonical-revision", "app.kubernetes.io/version", "version"];

/** Sets service (or version) from the first of `keys` the workload carries. */
function resolveFrom(id: Identity, keys: string[], service: bool): void {
  for (let k = 0; k < keys.length; k++) {
    const v = labelValue(id, keys[k]);
    if (v.length == 0) continue;
    if (service) { id.service = v; id.serviceSource = "label " + keys[k]; }
    else { id.version = v; id.versionSource = "label " + keys[k]; }
    return;
  }
}

function labelValue(id: Identity, key: string): string {
  for (let i = 0; i < id.labelKeys.length; i++) if (id.labelKeys[i] == key) return id.labelValues[i];
  if (id.labelKeys.length > 0) return "";
  return propertyString(["node", "metadata", "LABELS", key]);
}
