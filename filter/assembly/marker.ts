// Marks responses of delayed requests, as aborts are marked: `x-hfi-fault:
// <policy>` plus `x-hfi-fault-kind: delay` (aborts carry `abort`), so
// telemetry (an Istio Telemetry tag on response.headers) tells injected from
// real. Envoy's local reply of a wasm abort sets no FI/DI response flag.

import * as abi from "./abi";
import { MapType } from "./abi";
import { utf8 } from "./bytes";

export const FAULT_HEADER = utf8("x-hfi-fault");
export const FAULT_KIND_HEADER = utf8("x-hfi-fault-kind");
export const KIND_DELAY = utf8("delay");
export const KIND_ABORT = utf8("abort");

/** Streams whose request was delayed → the policy that delayed it. */
const delayed = new Map<u32, ArrayBuffer>();

export function markDelayed(contextId: u32, policy: ArrayBuffer): void {
  delayed.set(contextId, policy);
}

/** proxy_on_response_headers: add the marker to a delayed request's response. */
export function onResponseHeaders(contextId: u32): void {
  if (delayed.size == 0 || !delayed.has(contextId)) return;
  const policy = delayed.get(contextId);
  delayed.delete(contextId);
  abi.replaceHeader(MapType.ResponseHeaders, FAULT_HEADER, policy);
  abi.replaceHeader(MapType.ResponseHeaders, FAULT_KIND_HEADER, KIND_DELAY);
}

/** proxy_on_delete of a stream. */
export function forgetStream(contextId: u32): void {
  if (delayed.size != 0 && delayed.has(contextId)) delayed.delete(contextId);
}
