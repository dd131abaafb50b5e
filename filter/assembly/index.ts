// HFI proxy-wasm filter: exports the ABI v0.2.1 callbacks Envoy calls and
// wires them to the root context (root.ts, config-stream.ts: configuration,
// identity, config stream, backoff, timer) and the stream contexts
// (injection.ts: per-request matching and fault injection).

import * as abi from "./abi";
import { Action, DataAction } from "./abi";
import { Root, roots, rootOf, ensureSeeded, reschedule } from "./root";
import { configure, reconnectIfDue, reportIfDue, onConfigMessage, onConfigClose, shutdown, noteServing } from "./config-stream";
import { attachStream, detachStream, onRequestHeaders, isHeld, fireDue } from "./injection";
import { defineMetrics } from "./metrics";
import * as response from "./response";
import { onThrottledBody, disarmThrottle } from "./rate-limit";
import "./abort"; // abort handler (asc --use abort=...)

// ---------------------------------------------------------------------------
// Garbage collection. The release build uses AssemblyScript's "minimal"
// runtime: no shadow stack (that instrumentation was ~40 % of the module),
// and the collector runs only when called. It is called when the outermost
// host callback returns (depth 0), where no managed reference lives on the
// wasm stack: a callback a host makes while the guest is inside a host call
// (e.g. a gRPC close reported synchronously while opening the stream) never
// collects. proxy_on_memory_allocate uses the raw heap and never collects.
// Streams allocate little (their context objects), so stream deletes and
// ticks collect every COLLECT_EVERY calls (a collection walks every live object: ~50 µs
// with 100 policies, so 1 in 1024 requests keeps it out of p99); the rare
// callbacks (configure, gRPC message/close, a root's done) collect
// every time.

const COLLECT_EVERY: u32 = 1024;
let depth: u32 = 0;
let deletesSinceCollect: u32 = 0;

@inline function enter(): void {
  depth++;
}

const NEVER = 0, COUNTED = 1, ALWAYS = 2;

/** Leaves a callback; when it was the outermost one, collects per `mode` (NEVER, COUNTED, ALWAYS). */
function leave(mode: i32): void {
  if (--depth != 0 || mode == NEVER) return;
  if (mode == COUNTED && ++deletesSinceCollect < COLLECT_EVERY) return;
  deletesSinceCollect = 0;
  __collect();
}

// ---------------------------------------------------------------------------
// Integration and memory

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return heap.alloc(size);
}

// ---------------------------------------------------------------------------
// Lifecycle

export function proxy_on_context_create(contextId: u32, parentId: u32): void {
  enter();
  cbContextCreate(contextId, parentId);
  leave(NEVER);
}

function cbContextCreate(contextId: u32, parentId: u32): void {
  if (parentId == 0) {
    rootOf(contextId);
  } else if (roots.has(parentId)) {
    const root = roots.get(parentId);
    attachStream(contextId, root);
    noteServing(root);
  }
}

export function proxy_on_vm_start(rootId: u32, vmConfigSize: u32): u32 {
  enter();
  ensureSeeded();
  leave(NEVER);
  return 1;
}

export function proxy_on_configure(rootId: u32, configSize: u32): u32 {
  enter();
  const r = cbConfigure(rootId, configSize);
  leave(ALWAYS);
  return r;
}

function cbConfigure(rootId: u32, configSize: u32): u32 {
  abi.refreshLogLevel();
  ensureSeeded();
  defineMetrics();
  configure(rootOf(rootId), configSize);
  return 1; // always: a broken config must not take the listener down (fail open)
}

export function proxy_on_tick(rootId: u32): void {
  enter();
  cbTick(rootId);
  leave(COUNTED); // ticks come every 1 ms while delayed requests wait
}

function cbTick(rootId: u32): void {
  if (!roots.has(rootId)) { abi.setTickPeriod(0); return; }
  const root = roots.get(rootId);
  abi.refreshLogLevel();
  fireDue(root);
  reconnectIfDue(root);
  reportIfDue(root);
  reschedule(root);
}

export function proxy_on_done(contextId: u32): u32 {
  enter();
  // Called for every stream too: only a root's done collects.
  const isRoot = roots.has(contextId);
  if (isRoot) shutdown(roots.get(contextId));
  leave(isRoot ? ALWAYS : NEVER);
  return 1;
}

export function proxy_on_log(contextId: u32): void {}

export function proxy_on_delete(contextId: u32): void {
  enter();
  cbDelete(contextId);
  leave(COUNTED);
}

function cbDelete(contextId: u32): void {
  detachStream(contextId);
  if (roots.has(contextId)) {
    const root = roots.get(contextId);
    root.shuttingDown = true;
    roots.delete(contextId);
  }
}

// ---------------------------------------------------------------------------
// HTTP

export function proxy_on_request_headers(contextId: u32, headerCount: u32, endOfStream: u32): u32 {
  enter();
  const r = onRequestHeaders(contextId);
  leave(NEVER);
  return r;
}

/** A held request keeps its body too (in case the host delivers body chunks while headers wait). */
export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: u32): u32 {
  return isHeld(contextId) ? DataAction.StopIterationAndWatermark : DataAction.Continue;
}

export function proxy_on_response_headers(contextId: u32, headerCount: u32, endOfStream: u32): u32 {
  enter();
  const r = response.onResponseHeaders(contextId, endOfStream != 0);
  if (endOfStream != 0) disarmThrottle(contextId); // no body to pace
  leave(NEVER);
  return r;
}

export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: u32): u32 {
  enter();
  response.onResponseBody(contextId, bodySize, endOfStream != 0);
  const r = onThrottledBody(contextId, response.bodySizeAfter, endOfStream != 0);
  leave(NEVER);
  return r;
}

// ---------------------------------------------------------------------------
// gRPC (config stream)

export function proxy_on_grpc_receive_initial_metadata(contextId: u32, token: u32, headerCount: u32): void {}

export function proxy_on_grpc_receive_trailing_metadata(contextId: u32, token: u32, trailerCount: u32): void {}

export function proxy_on_grpc_receive(contextId: u32, token: u32, size: u32): void {
  enter();
  cbGrpcReceive(contextId, token, size);
  leave(ALWAYS);
}

/** The root whose open config stream `token` is, or null (stale or foreign callbacks are ignored). */
function streamRoot(contextId: u32, token: u32): Root | null {
  if (token == 0 || !roots.has(contextId)) return null;
  const root = roots.get(contextId);
  return token == root.grpcToken ? root : null;
}

function cbGrpcReceive(contextId: u32, token: u32, size: u32): void {
  const root = streamRoot(contextId, token);
  if (root) onConfigMessage(root, size);
}

export function proxy_on_grpc_close(contextId: u32, token: u32, status: u32): void {
  enter();
  cbGrpcClose(contextId, token, status);
  leave(ALWAYS);
}

function cbGrpcClose(contextId: u32, token: u32, status: u32): void {
  // Close our side too: Envoy frees a stream's handler on the remote close
  // only if the plugin closed it locally, else it lingers until the VM dies.
  if (token != 0) abi.grpcClose(token);
  const root = streamRoot(contextId, token);
  if (root) onConfigClose(root, status);
}
