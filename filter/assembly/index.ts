// HFI proxy-wasm filter: exports the ABI v0.2.1 callbacks Envoy calls.
// Root context: plugin configuration, identity, the config stream to the
// control plane (subscribe / snapshot / ACK / NACK, reconnect with backoff)
// and one timer multiplexing paused requests and reconnects.
// Stream context: per-request rule matching and fault injection.

import * as abi from "./abi";
import { LogLevel, Action, BufferType, MetricType, WasmResult, HostBytes } from "./abi";
import { ByteWriter, PairsView, utf8, str, ptrOf, encodePairs, bytesOf } from "./bytes";
import { Rule, Snapshot, RequestView } from "./rules";
import { decodeSnapshot, decodeStringStruct, MAX_SNAPSHOT_BYTES } from "./snapshot";
import { parseStringMembers, jsonError, StringMembers } from "./json";
import { TimerQueue } from "./timers";
import * as rng from "./rng";
import "./abort"; // abort handler (asc --use abort=...)

const DEFAULT_CLUSTER = "outbound|9090||hfi-control-plane.boifi.svc.cluster.local";
const SERVICE_NAME = utf8("hfi.v1.ConfigDiscoveryService");
const METHOD_NAME = utf8("StreamConfig");
const ABORT_DETAILS = utf8("hfi_fault_abort");
const AUTHORIZATION = utf8("authorization");

const BACKOFF_START_MS: i32 = 500;
const BACKOFF_MAX_MS: i32 = 30000;
const MAX_TICK_MS: i64 = 3600000;

const PHASE_START: u8 = 1; // waiting start_delay_ms
const PHASE_DELAY: u8 = 2; // waiting fixed_delay_ms

// ---------------------------------------------------------------------------
// State

class PluginConfig {
  cluster: string = DEFAULT_CLUSTER;
  token: string = "";
  service: string = "";
  namespace: string = "";
  pod: string = "";
}

class Identity {
  service: string = "";
  namespace: string = "";
  pod: string = "";
  proxyId: string = "";
  labelKeys: string[] = [];
  labelValues: string[] = [];
}

class Pending {
  root: Root;
  rule: Rule;
  phase: u8;
  grpc: bool;
  seq: u32 = 0;
  constructor(root: Root, rule: Rule, phase: u8, grpc: bool) {
    this.root = root;
    this.rule = rule;
    this.phase = phase;
    this.grpc = grpc;
  }
}

const EMPTY_SNAPSHOT = new Snapshot();

class Root {
  id: u32;
  config: PluginConfig = new PluginConfig();
  identity: Identity = new Identity();
  configured: bool = false;
  snapshot: Snapshot = EMPTY_SNAPSHOT;
  hasExpiringRules: bool = false;
  clockOffsetMs: i64 = 0; // server wall clock - local wall clock
  grpcToken: u32 = 0;
  backoffMs: i32 = BACKOFF_START_MS;
  reconnectAtMs: i64 = -1;
  failures: i32 = 0;
  shuttingDown: bool = false;
  timers: TimerQueue = new TimerQueue();
  waiting: i32 = 0;
  tickPeriod: u32 = 0;
  constructor(id: u32) {
    this.id = id;
  }
}

const roots = new Map<u32, Root>();
const streamRoot = new Map<u32, Root>();
const pendings = new Map<u32, Pending>();
const request = new RequestView();
let seqCounter: u32 = 0;
let seeded = false;

// Metric ids (per VM; 0xffffffff = undefined).
let mAborts: u32 = 0xffffffff;
let mDelays: u32 = 0xffffffff;
let mReconnects: u32 = 0xffffffff;
let mNacks: u32 = 0xffffffff;
let mVersion: u32 = 0xffffffff;
let mDelayMs: u32 = 0xffffffff;
let metricsDefined = false;

function defineMetrics(): void {
  if (metricsDefined) return;
  metricsDefined = true;
  mAborts = abi.defineMetric(MetricType.Counter, "wasmcustom.hfi_faults_aborts_total");
  mDelays = abi.defineMetric(MetricType.Counter, "wasmcustom.hfi_faults_delays_total");
  mReconnects = abi.defineMetric(MetricType.Counter, "wasmcustom.hfi_config_reconnects_total");
  mNacks = abi.defineMetric(MetricType.Counter, "wasmcustom.hfi_config_nacks_total");
  mVersion = abi.defineMetric(MetricType.Gauge, "wasmcustom.hfi_config_version");
  mDelayMs = abi.defineMetric(MetricType.Histogram, "wasmcustom.hfi_delay_ms");
}

function ensureSeeded(): void {
  if (seeded) return;
  seeded = true;
  const buf = memory.data(16);
  if (abi.randomBytes(buf, 16)) rng.seedFrom(buf);
  rng.mixIn(<u64>abi.monoNowMs() ^ (<u64>abi.wallNowMs() << 20));
}

function rootOf(id: u32): Root {
  if (roots.has(id)) return roots.get(id);
  const r = new Root(id);
  roots.set(id, r);
  return r;
}

// ---------------------------------------------------------------------------
// Configuration and identity

function readConfig(size: i32): PluginConfig {
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
  return cfg;
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

function resolveIdentity(cfg: PluginConfig): Identity {
  const id = new Identity();
  // Labels: newer Envoy serialises a string map property as proxy-wasm pairs,
  // older ones as a google.protobuf.Struct; accept both.
  const labels = abi.getProperty(["node", "metadata", "LABELS"]);
  if (labels != null) {
    const view = new PairsView();
    if (view.parse(labels.ptr, labels.len)) {
      for (let i = 0; i < view.count && i < 64; i++) {
        id.labelKeys.push(String.UTF8.decodeUnsafe(view.keyPtr[i], <usize>view.keyLen[i]));
        id.labelValues.push(String.UTF8.decodeUnsafe(view.valPtr[i], <usize>view.valLen[i]));
      }
    } else if (!decodeStringStruct(labels.ptr, labels.len, id.labelKeys, id.labelValues)) {
      id.labelKeys.length = 0;
      id.labelValues.length = 0;
    }
    labels.free();
  }
  id.service = cfg.service;
  if (id.service.length == 0) id.service = propertyString(["node", "metadata", "WORKLOAD_NAME"]);
  if (id.service.length == 0) id.service = labelOr(id, "app", ["node", "metadata", "LABELS", "app"]);
  if (id.service.length == 0) id.service = labelOr(id, "service.istio.io/canonical-name", ["node", "metadata", "LABELS", "service.istio.io/canonical-name"]);
  id.namespace = cfg.namespace.length > 0 ? cfg.namespace : propertyString(["node", "metadata", "NAMESPACE"]);
  id.pod = cfg.pod.length > 0 ? cfg.pod : propertyString(["node", "metadata", "NAME"]);
  let node = propertyString(["node", "id"]);
  if (node.length == 0) node = id.pod.length > 0 ? id.pod : "hfi-filter";
  // Unique per VM (one per Envoy worker): node id plus a random suffix.
  id.proxyId = node + "/" + hex8(rng.nextU32());
  return id;
}

function labelOr(id: Identity, key: string, path: string[]): string {
  for (let i = 0; i < id.labelKeys.length; i++) if (id.labelKeys[i] == key) return id.labelValues[i];
  return propertyString(path);
}

// ---------------------------------------------------------------------------
// Config stream

function encodeSubscribe(root: Root): ArrayBuffer {
  const ident = new ByteWriter(128);
  const idn = root.identity;
  ident.fieldString(1, utf8(idn.service));
  ident.fieldString(2, utf8(idn.namespace));
  ident.fieldString(3, utf8(idn.pod));
  ident.fieldString(4, utf8(idn.proxyId));
  for (let i = 0; i < idn.labelKeys.length; i++) {
    const entry = new ByteWriter(32);
    entry.fieldBytes(1, utf8(idn.labelKeys[i]));
    entry.fieldBytes(2, utf8(idn.labelValues[i]));
    ident.fieldBytes(5, entry.finish());
  }
  const sub = new ByteWriter(128);
  sub.fieldBytes(1, ident.finish());
  sub.fieldString(2, root.snapshot.version);
  sub.fieldString(3, utf8(root.config.token));
  const req = new ByteWriter(160);
  req.fieldBytes(1, sub.finish());
  return req.finish();
}

function encodeAck(version: ArrayBuffer, nonce: ArrayBuffer): ArrayBuffer {
  const ack = new ByteWriter(64);
  ack.fieldString(1, version);
  ack.fieldString(2, nonce);
  const req = new ByteWriter(80);
  req.fieldBytes(2, ack.finish());
  return req.finish();
}

function encodeNack(version: ArrayBuffer, nonce: ArrayBuffer, error: string): ArrayBuffer {
  const nack = new ByteWriter(128);
  nack.fieldString(1, version);
  nack.fieldString(2, nonce);
  nack.fieldString(3, utf8(error));
  const req = new ByteWriter(160);
  req.fieldBytes(3, nack.finish());
  return req.finish();
}

function connect(root: Root): void {
  if (root.shuttingDown) return;
  let metadata: ArrayBuffer;
  if (root.config.token.length > 0) {
    metadata = encodePairs([AUTHORIZATION], [utf8("Bearer " + root.config.token)]);
  } else {
    metadata = encodePairs([], []);
  }
  const token = abi.grpcStream(utf8(root.config.cluster), SERVICE_NAME, METHOD_NAME, metadata);
  if (token == 0) {
    noteFailure(root, "cannot open config stream to " + root.config.cluster + " (status " + abi.lastGrpcResult.toString() + ")");
    scheduleReconnect(root);
    return;
  }
  root.grpcToken = token;
  if (abi.grpcSend(token, encodeSubscribe(root)) != WasmResult.Ok) {
    abi.grpcCancel(token);
    root.grpcToken = 0;
    noteFailure(root, "cannot send subscribe on config stream");
    scheduleReconnect(root);
    return;
  }
  abi.log(LogLevel.Debug, "hfi: config stream opened to " + root.config.cluster);
}

function noteFailure(root: Root, what: string): void {
  root.failures++;
  const f = root.failures;
  // Warn on the first failures, then only now and then: the control plane may be down for long.
  if (f <= 3 || f % 20 == 0) abi.log(LogLevel.Warn, "hfi: " + what + "; retrying (failure " + f.toString() + ", keeping last config)");
}

function scheduleReconnect(root: Root): void {
  if (root.shuttingDown) return;
  const base = root.backoffMs;
  const jitter = 0.8 + 0.4 * rng.uniformUnit(); // ±20%
  let delay = <i64>Math.round(<f64>base * jitter);
  if (delay < 1) delay = 1;
  if (delay > BACKOFF_MAX_MS) delay = BACKOFF_MAX_MS;
  root.reconnectAtMs = abi.monoNowMs() + delay;
  root.backoffMs = base * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : base * 2;
  reschedule(root);
}

function versionGauge(v: ArrayBuffer): u64 {
  const n = v.byteLength;
  const p = ptrOf(v);
  if (n > 0 && n <= 18) {
    let num: u64 = 0;
    let digits = true;
    for (let i = 0; i < n; i++) {
      const c = <u32>load<u8>(p + <usize>i);
      if (c < 48 || c > 57) { digits = false; break; }
      num = num * 10 + <u64>(c - 48);
    }
    if (digits) return num;
  }
  // FNV-1a 32: equal values across sidecars mean the same config.
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < n; i++) {
    h ^= <u32>load<u8>(p + <usize>i);
    h *= 0x01000193;
  }
  return <u64>h;
}

function applySnapshotMessage(root: Root, size: i32): void {
  if (size > MAX_SNAPSHOT_BYTES) {
    incrementNack(root, new ArrayBuffer(0), new ArrayBuffer(0), "snapshot larger than " + MAX_SNAPSHOT_BYTES.toString() + " bytes");
    return;
  }
  const msg = abi.getBufferBytes(BufferType.GrpcReceiveBuffer, 0, <u32>size);
  if (msg == null) {
    incrementNack(root, new ArrayBuffer(0), new ArrayBuffer(0), "cannot read snapshot message");
    return;
  }
  const res = decodeSnapshot(msg.ptr, msg.len);
  msg.free();
  const snap = res.snapshot;
  if (snap == null) {
    incrementNack(root, res.version, res.nonce, res.error);
    return;
  }
  // Swap atomically: requests see either the old or the new rule set.
  let expiring = false;
  for (let i = 0; i < snap.rules.length; i++) if (snap.rules[i].expiresAtMs != 0) { expiring = true; break; }
  root.clockOffsetMs = snap.serverTimeMs > 0 ? snap.serverTimeMs - abi.wallNowMs() : 0;
  root.snapshot = snap;
  root.hasExpiringRules = expiring;
  abi.recordMetric(mVersion, versionGauge(snap.version));
  if (root.grpcToken != 0) abi.grpcSend(root.grpcToken, encodeAck(snap.version, snap.nonce));
  abi.log(LogLevel.Info, "hfi: applied config version " + str(snap.version) + " (" + snap.policyCount.toString() +
    " policies, " + snap.rules.length.toString() + " rules)");
}

function incrementNack(root: Root, version: ArrayBuffer, nonce: ArrayBuffer, error: string): void {
  abi.incrementMetric(mNacks, 1);
  abi.log(LogLevel.Warn, "hfi: rejected config version " + str(version) + ": " + error + " (keeping version " + str(root.snapshot.version) + ")");
  if (root.grpcToken != 0) abi.grpcSend(root.grpcToken, encodeNack(version, nonce, error));
}

// ---------------------------------------------------------------------------
// Timer

function reschedule(root: Root): void {
  if (root.waiting <= 0 && root.timers.size > 0) { root.timers.clear(); root.waiting = 0; }
  let next = root.timers.peekDeadline();
  if (root.reconnectAtMs >= 0 && root.reconnectAtMs < next) next = root.reconnectAtMs;
  let period: u32 = 0;
  if (next != i64.MAX_VALUE) {
    let d = next - abi.monoNowMs();
    if (d < 1) d = 1;
    if (d > MAX_TICK_MS) d = MAX_TICK_MS;
    period = <u32>d;
  }
  if (period != root.tickPeriod) {
    root.tickPeriod = period;
    abi.setTickPeriod(period);
  }
}

function wait(root: Root, ctx: u32, p: Pending, ms: u32): void {
  p.seq = ++seqCounter;
  root.timers.push(abi.monoNowMs() + <i64>ms, ctx, p.seq);
  reschedule(root);
}

function sendAbort(rule: Rule, grpc: bool): void {
  const grpcStatus: i32 = grpc && rule.grpcStatus != 0 ? <i32>rule.grpcStatus : -1;
  abi.sendLocalResponse(rule.httpStatus, ABORT_DETAILS, ptrOf(rule.body), rule.body.byteLength, rule.abortHeaders, grpcStatus);
  abi.incrementMetric(mAborts, 1);
}

/** Starts the fault proper (after any start delay). Returns the header action for the current call. */
function applyFault(root: Root, ctx: u32, p: Pending): Action {
  const rule = p.rule;
  if (rule.delayMs > 0) {
    abi.incrementMetric(mDelays, 1);
    abi.recordMetric(mDelayMs, <u64>rule.delayMs);
    p.phase = PHASE_DELAY;
    wait(root, ctx, p, rule.delayMs);
    return Action.Pause;
  }
  finishPending(root, ctx);
  if (rule.hasAbort) {
    sendAbort(rule, p.grpc);
    return Action.Pause;
  }
  return Action.Continue;
}

function finishPending(root: Root, ctx: u32): void {
  if (pendings.has(ctx)) {
    pendings.delete(ctx);
    root.waiting--;
  }
}

function fireDue(root: Root): void {
  const now = abi.monoNowMs();
  let switched = false;
  while (root.timers.size > 0 && root.timers.peekDeadline() <= now) {
    root.timers.pop();
    const ctx = root.timers.poppedId;
    if (!pendings.has(ctx)) continue;
    const p = pendings.get(ctx);
    if (p.seq != root.timers.poppedSeq) continue;
    if (abi.setEffectiveContext(ctx) != WasmResult.Ok) {
      finishPending(root, ctx);
      continue;
    }
    switched = true;
    if (p.phase == PHASE_START) {
      if (applyFault(root, ctx, p) == Action.Continue) abi.continueRequest();
    } else {
      finishPending(root, ctx);
      if (p.rule.hasAbort) sendAbort(p.rule, p.grpc);
      else abi.continueRequest();
    }
  }
  if (switched) abi.setEffectiveContext(root.id);
}

// ---------------------------------------------------------------------------
// Exports: integration and memory

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return heap.alloc(size);
}

// ---------------------------------------------------------------------------
// Exports: lifecycle

export function proxy_on_context_create(contextId: u32, parentId: u32): void {
  if (parentId == 0) {
    rootOf(contextId);
  } else if (roots.has(parentId)) {
    streamRoot.set(contextId, roots.get(parentId));
  }
}

export function proxy_on_vm_start(rootId: u32, vmConfigSize: u32): u32 {
  ensureSeeded();
  return 1;
}

export function proxy_on_configure(rootId: u32, configSize: u32): u32 {
  abi.refreshLogLevel();
  ensureSeeded();
  defineMetrics();
  const root = rootOf(rootId);
  root.config = readConfig(<i32>configSize);
  root.identity = resolveIdentity(root.config);
  const idn = root.identity;
  abi.log(LogLevel.Info, "hfi: filter starting: service=" + (idn.service.length > 0 ? idn.service : "(unknown)") +
    " namespace=" + idn.namespace + " pod=" + idn.pod + " proxy_id=" + idn.proxyId +
    " labels=" + idn.labelKeys.length.toString() + " control_plane=" + root.config.cluster);
  if (idn.service.length == 0) abi.log(LogLevel.Warn, "hfi: workload name unknown; only wildcard policies will apply");
  if (root.grpcToken != 0) { // reconfigured: start over with the new settings
    abi.grpcCancel(root.grpcToken);
    root.grpcToken = 0;
  }
  root.configured = true;
  root.shuttingDown = false;
  root.backoffMs = BACKOFF_START_MS;
  root.reconnectAtMs = -1;
  connect(root);
  return 1; // always: a broken config must not take the listener down (fail open)
}

export function proxy_on_tick(rootId: u32): void {
  if (!roots.has(rootId)) { abi.setTickPeriod(0); return; }
  const root = roots.get(rootId);
  abi.refreshLogLevel();
  fireDue(root);
  if (root.reconnectAtMs >= 0 && abi.monoNowMs() >= root.reconnectAtMs) {
    root.reconnectAtMs = -1;
    abi.incrementMetric(mReconnects, 1);
    connect(root);
  }
  reschedule(root);
}

export function proxy_on_done(contextId: u32): u32 {
  if (roots.has(contextId)) {
    const root = roots.get(contextId);
    root.shuttingDown = true;
    root.reconnectAtMs = -1;
    if (root.grpcToken != 0) {
      abi.grpcCancel(root.grpcToken);
      root.grpcToken = 0;
    }
    root.timers.clear();
    root.waiting = 0;
    root.tickPeriod = 0;
    abi.setTickPeriod(0);
  }
  return 1;
}

export function proxy_on_log(contextId: u32): void {}

export function proxy_on_delete(contextId: u32): void {
  if (pendings.has(contextId)) {
    const p = pendings.get(contextId);
    finishPending(p.root, contextId);
    reschedule(p.root);
  }
  if (streamRoot.has(contextId)) streamRoot.delete(contextId);
  if (roots.has(contextId)) {
    const root = roots.get(contextId);
    root.shuttingDown = true;
    roots.delete(contextId);
  }
}

// ---------------------------------------------------------------------------
// Exports: HTTP

export function proxy_on_request_headers(contextId: u32, headerCount: u32, endOfStream: u32): u32 {
  if (!streamRoot.has(contextId)) return Action.Continue;
  const root = streamRoot.get(contextId);
  const rules = root.snapshot.rules;
  const n = rules.length;
  if (n == 0) return Action.Continue;
  if (!abi.loadRequestHeaderPairs()) return Action.Continue;
  const hp = abi.pairsPtr;
  let chosen: Rule | null = null;
  let grpc = false;
  if (request.load(hp, abi.pairsLen)) {
    grpc = request.isGrpc;
    const serverNow: i64 = root.hasExpiringRules ? abi.wallNowMs() + root.clockOffsetMs : 0;
    for (let i = 0; i < n; i++) {
      const r = unchecked(rules[i]);
      if (r.expiresAtMs != 0 && serverNow >= r.expiresAtMs) continue;
      if (request.ruleMatches(r)) { chosen = r; break; }
    }
  }
  if (hp != 0) heap.free(hp);
  if (chosen == null) return Action.Continue;
  const rule = changetype<Rule>(chosen);
  if (rule.delayMs == 0 && !rule.hasAbort) return Action.Continue;
  if (rule.ppm == 0) return Action.Continue;
  if (rule.ppm < 1000000 && rng.uniformMillion() >= rule.ppm) return Action.Continue;
  const p = new Pending(root, rule, PHASE_START, grpc);
  pendings.set(contextId, p);
  root.waiting++;
  if (rule.startDelayMs > 0) {
    wait(root, contextId, p, rule.startDelayMs);
    return Action.Pause;
  }
  return applyFault(root, contextId, p);
}

export function proxy_on_response_headers(contextId: u32, headerCount: u32, endOfStream: u32): u32 {
  return Action.Continue;
}

// ---------------------------------------------------------------------------
// Exports: gRPC (config stream)

export function proxy_on_grpc_receive_initial_metadata(contextId: u32, token: u32, headerCount: u32): void {}

export function proxy_on_grpc_receive_trailing_metadata(contextId: u32, token: u32, trailerCount: u32): void {}

export function proxy_on_grpc_receive(contextId: u32, token: u32, size: u32): void {
  if (!roots.has(contextId)) return;
  const root = roots.get(contextId);
  if (token != root.grpcToken || token == 0) return;
  abi.refreshLogLevel();
  // The stream works: the next failure starts again from the shortest backoff.
  root.backoffMs = BACKOFF_START_MS;
  root.failures = 0;
  applySnapshotMessage(root, <i32>size);
}

export function proxy_on_grpc_close(contextId: u32, token: u32, status: u32): void {
  if (!roots.has(contextId)) return;
  const root = roots.get(contextId);
  if (token != root.grpcToken || token == 0) return;
  abi.refreshLogLevel();
  root.grpcToken = 0;
  if (root.shuttingDown) return;
  const msg = abi.grpcStatusMessage();
  noteFailure(root, "config stream closed (grpc status " + status.toString() + (msg.length > 0 ? ": " + msg : "") + ")");
  scheduleReconnect(root);
}
