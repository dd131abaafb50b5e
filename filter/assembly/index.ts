// HFI proxy-wasm filter: exports the ABI v0.2.1 callbacks Envoy calls and
// wires them to the root context (root.ts, config-stream.ts: configuration,
// identity, config stream, backoff, timer) and the stream contexts
// (injection.ts: per-request matching and fault injection).

import * as abi from "./abi";
import { Action } from "./abi";
import { roots, rootOf, ensureSeeded, reschedule } from "./root";
import { configure, reconnectIfDue, onConfigMessage, onConfigClose, shutdown } from "./config-stream";
import { attachStream, detachStream, onRequestHeaders, fireDue } from "./injection";
import { defineMetrics } from "./metrics";
import "./abort"; // abort handler (asc --use abort=...)

// ---------------------------------------------------------------------------
// Integration and memory

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return heap.alloc(size);
}

// ---------------------------------------------------------------------------
// Lifecycle

export function proxy_on_context_create(contextId: u32, parentId: u32): void {
  if (parentId == 0) {
    rootOf(contextId);
  } else if (roots.has(parentId)) {
    attachStream(contextId, roots.get(parentId));
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
  configure(rootOf(rootId), configSize);
  return 1; // always: a broken config must not take the listener down (fail open)
}

export function proxy_on_tick(rootId: u32): void {
  if (!roots.has(rootId)) { abi.setTickPeriod(0); return; }
  const root = roots.get(rootId);
  abi.refreshLogLevel();
  fireDue(root);
  reconnectIfDue(root);
  reschedule(root);
}

export function proxy_on_done(contextId: u32): u32 {
  if (roots.has(contextId)) shutdown(roots.get(contextId));
  return 1;
}

export function proxy_on_log(contextId: u32): void {}

export function proxy_on_delete(contextId: u32): void {
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
  return onRequestHeaders(contextId);
}

export function proxy_on_response_headers(contextId: u32, headerCount: u32, endOfStream: u32): u32 {
  return Action.Continue;
}

// ---------------------------------------------------------------------------
// gRPC (config stream)

export function proxy_on_grpc_receive_initial_metadata(contextId: u32, token: u32, headerCount: u32): void {}

export function proxy_on_grpc_receive_trailing_metadata(contextId: u32, token: u32, trailerCount: u32): void {}

export function proxy_on_grpc_receive(contextId: u32, token: u32, size: u32): void {
  if (!roots.has(contextId)) return;
  const root = roots.get(contextId);
  if (token != root.grpcToken || token == 0) return;
  onConfigMessage(root, size);
}

export function proxy_on_grpc_close(contextId: u32, token: u32, status: u32): void {
  if (!roots.has(contextId)) return;
  const root = roots.get(contextId);
  if (token != root.grpcToken || token == 0) return;
  onConfigClose(root, status);
}
