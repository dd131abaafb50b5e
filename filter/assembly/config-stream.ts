// The root context's life with the control plane: configure (config,
// identity), the gRPC config stream (Subscribe, snapshot -> ACK/NACK),
// reconnect with jittered exponential backoff, and shutdown.

import * as abi from "./abi";
import { LogLevel, BufferType, WasmResult } from "./abi";
import { ByteWriter, utf8, str, ptrOf, encodePairs, decimal } from "./bytes";
import { decodeSnapshot, MAX_SNAPSHOT_BYTES } from "./snapshot";
import { readConfig, resolveIdentity } from "./config";
import { Root, BACKOFF_START_MS, reschedule, reportDueMs } from "./root";
import { mNacks, mReconnects, mVersion } from "./metrics";
import * as rng from "./rng";
import { releasePaused } from "./injection";

const SERVICE_NAME = utf8("hfi.v1.ConfigDiscoveryService");
const METHOD_NAME = utf8("StreamConfig");
const AUTHORIZATION = utf8("authorization");

const BACKOFF_MAX_MS: i32 = 30000;

/**
 * proxy_on_configure: read the configuration, resolve the identity, and arm
 * the stream for the first tick. Not opened here: proxy-wasm-cpp-host runs
 * vm_start + configure on a throwaway canary VM first and destroys it before
 * it ever ticks, so only VMs that live open a stream.
 */
export function configure(root: Root, configSize: u32): void {
  root.config = readConfig(<i32>configSize);
  root.identity = resolveIdentity(root.config);
  const idn = root.identity;
  abi.log(LogLevel.Info, "hfi: filter starting: service=" + (idn.service.length > 0 ? idn.service : "(unknown)") +
    " (from " + (idn.serviceSource.length > 0 ? idn.serviceSource : "nothing") + ")" +
    " version=" + idn.version + " namespace=" + idn.namespace + " pod=" + idn.pod + " proxy_id=" + idn.proxyId +
    " labels=" + idn.labelKeys.length.toString() + " direction=" + (root.config.outbound ? "outbound" : "inbound") +
    " control_plane=" + root.config.cluster);
  if (idn.service.length == 0) abi.log(LogLevel.Warn, "hfi: workload name unknown; only wildcard policies will apply");
  if (root.grpcToken != 0) { // reconfigured: start over with the new settings
    abi.grpcCancel(root.grpcToken);
    root.grpcToken = 0;
  }
  root.configured = true;
  root.shuttingDown = false;
  root.backoffMs = BACKOFF_START_MS;
  root.reconnectAtMs = abi.monoNowMs();
  reschedule(root);
}

/** From proxy_on_tick: open the stream (first tick) or reconnect once the backoff has passed. */
export function reconnectIfDue(root: Root): void {
  if (root.reconnectAtMs >= 0 && abi.monoNowMs() >= root.reconnectAtMs) {
    root.reconnectAtMs = -1;
    if (root.opened) abi.incrementMetric(mReconnects, 1);
    connect(root);
  }
}

/** proxy_on_grpc_receive on the config stream: a ConfigSnapshot. */
export function onConfigMessage(root: Root, size: u32): void {
  abi.refreshLogLevel();
  // The stream works: the next failure starts again from the shortest backoff.
  root.backoffMs = BACKOFF_START_MS;
  root.failures = 0;
  applySnapshotMessage(root, <i32>size);
}

/** From proxy_on_tick: send the fault report when one is due. */
export function reportIfDue(root: Root): void {
  if (root.grpcToken == 0 || abi.monoNowMs() < reportDueMs(root)) return;
  const msg = root.faults.encodeReport();
  root.faults.lastReportMs = abi.monoNowMs();
  if (msg != null && abi.grpcSend(root.grpcToken, msg) != WasmResult.Ok) {
    abi.log(LogLevel.Debug, "hfi: fault report not sent (stream closing); counts follow on the next stream");
  }
}

/** proxy_on_grpc_close on the config stream: reconnect later (unless shutting down). */
export function onConfigClose(root: Root, status: u32): void {
  abi.refreshLogLevel();
  root.grpcToken = 0;
  if (root.shuttingDown) return;
  const msg = abi.grpcStatusMessage();
  noteFailure(root, "config stream closed (grpc status " + status.toString() + (msg.length > 0 ? ": " + msg : "") + ")");
  scheduleReconnect(root);
}

/** proxy_on_done of the root: cancel the stream, stop the timer, forget waiting requests. */
export function shutdown(root: Root): void {
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
  ident.fieldString(6, utf8(idn.version));
  ident.fieldString(7, utf8(idn.serviceSource));
  ident.fieldString(8, utf8(idn.versionSource));
  ident.fieldString(9, utf8(idn.serviceAccount));
  ident.fieldString(10, utf8(root.config.outbound ? "outbound" : "inbound"));
  const sub = new ByteWriter(128);
  sub.fieldBytes(1, ident.finish());
  sub.fieldString(2, root.snapshot.version);
  sub.fieldString(3, utf8(root.config.token));
  if (root.serving) {
    sub.varint(4 << 3); // Subscribe.serving = true
    sub.varint(1);
  }
  const req = new ByteWriter(160);
  req.fieldBytes(1, sub.finish());
  return req.finish();
}

/**
 * The first HTTP stream of this VM: tell the control plane once (a Serving
 * message on the open stream; later Subscribes carry serving = true), so the
 * main thread's VM, which never gets one, shows as idle in status.
 */
export function noteServing(root: Root): void {
  if (root.serving) return;
  root.serving = true;
  if (root.grpcToken == 0) return;
  const req = new ByteWriter(4);
  req.varint((4 << 3) | 2); // StreamConfigRequest.serving: an empty Serving message
  req.varint(0);
  abi.grpcSend(root.grpcToken, req.finish());
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
  root.opened = true;
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
  const num = decimal(p, n, 18);
  if (num >= 0) return <u64>num;
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
  const res = decodeSnapshot(msg.ptr, msg.len, root.config.outbound, root.identity.namespace);
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
  // Counts carry over by (policy, rule, abort status); rules gone are dropped once reported.
  const faults = root.faults;
  faults.unmarkAll();
  for (let i = 0; i < snap.rules.length; i++) {
    const r = snap.rules[i];
    r.counts = faults.attach(r.policyName, r.index, r.hasAbort ? r.httpStatus : 0);
  }
  faults.prune();
  root.snapshot = snap;
  root.hasExpiringRules = expiring;
  abi.recordMetric(mVersion, versionGauge(snap.version));
  releasePaused(root, snap.paused);
  if (root.grpcToken != 0) abi.grpcSend(root.grpcToken, encodeAck(snap.version, snap.nonce));
  abi.log(LogLevel.Info, "hfi: applied config version " + str(snap.version) + " (" + snap.policyCount.toString() +
    " policies, " + snap.rules.length.toString() + " rules)");
}

function incrementNack(root: Root, version: ArrayBuffer, nonce: ArrayBuffer, error: string): void {
  abi.incrementMetric(mNacks, 1);
  abi.log(LogLevel.Warn, "hfi: rejected config version " + str(version) + ": " + error + " (keeping version " + str(root.snapshot.version) + ")");
  if (root.grpcToken != 0) abi.grpcSend(root.grpcToken, encodeNack(version, nonce, error));
}
