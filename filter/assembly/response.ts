// Response faults: the request reaches the upstream and the filter rewrites
// what comes back (status, headers, body). The rule and the percentage roll
// are decided on the request headers; a stream whose fault holds is armed
// here and rewritten in proxy_on_response_headers / proxy_on_response_body.
// A stream that is not armed costs one size check per response callback.
//
// The body is replaced without buffering the upstream's: the first body chunk
// (Envoy's current-chunk buffer, HttpResponseBody) is replaced by the whole
// injected body, later chunks are drained, so memory stays bounded whatever the
// upstream sends, and a response that ends with trailers (gRPC) still gets it.
//
// The same per-stream record marks the response of a delayed request, as
// aborts are marked: `x-hfi-fault: <policy>` plus `x-hfi-fault-kind: delay`
// (aborts carry `abort`), so telemetry (an Istio Telemetry tag on
// response.headers) tells injected from real. Envoy's local reply of a wasm
// abort sets no FI/DI response flag.

import * as abi from "./abi";
import { Action, DataAction, MapType, BufferType } from "./abi";
import { utf8, decimal } from "./bytes";
import { mResponses } from "./metrics";

const H_STATUS = utf8(":status");
const H_CONTENT_LENGTH = utf8("content-length");
const H_CONTENT_ENCODING = utf8("content-encoding");
/** The marks of injected faults on responses (and on an abort's local reply: snapshot.ts). */
export const FAULT_HEADER = utf8("x-hfi-fault");
export const FAULT_KIND_HEADER = utf8("x-hfi-fault-kind");
export const KIND_DELAY = utf8("delay");
export const KIND_ABORT = utf8("abort");
const EMPTY = new ArrayBuffer(0);

/** A rule's response rewrite (compiled from hfi.v1.ResponseFault). */
export class ResponseAction {
  status: u32 = 0; // 0 = keep
  statusText: ArrayBuffer = EMPTY;
  setNames: ArrayBuffer[] = [];
  setValues: ArrayBuffer[] = [];
  addNames: ArrayBuffer[] = [];
  addValues: ArrayBuffer[] = [];
  removeNames: ArrayBuffer[] = [];
  hasBody: bool = false;
  body: ArrayBuffer = EMPTY;
  bodyLength: ArrayBuffer = EMPTY; // content-length value for body
  // upstream_status: codes, or [min, max] when max != 0
  hasStatusMatch: bool = false;
  codes: u32[] = [];
  min: u32 = 0;
  max: u32 = 0;

  statusHolds(code: u32): bool {
    for (let i = 0; i < this.codes.length; i++) if (unchecked(this.codes[i]) == code) return true;
    return this.max != 0 && code >= this.min && code <= this.max;
  }

  /** Precomputes the header values the callbacks write. */
  finish(): void {
    if (this.status != 0) this.statusText = utf8(this.status.toString());
    if (this.hasBody) this.bodyLength = utf8(this.body.byteLength.toString());
  }
}

class Armed {
  action: ResponseAction | null; // null: only the delay mark
  policyName: ArrayBuffer;
  delayed: bool = false; // the request was delayed: mark the response kind delay
  bodyWritten: bool = false;
  constructor(action: ResponseAction | null, policyName: ArrayBuffer) {
    this.action = action;
    this.policyName = policyName;
  }
}

const armed = new Map<u32, Armed>();

/** The request's rule has a response fault and its roll hit: rewrite this stream's response. */
export function armResponse(contextId: u32, action: ResponseAction, policyName: ArrayBuffer): void {
  armed.set(contextId, new Armed(action, policyName));
}

/** The request was delayed (without an abort): its response carries the delay mark, beside any rewrite. */
export function markDelayed(contextId: u32, policyName: ArrayBuffer): void {
  if (armed.size > 0 && armed.has(contextId)) armed.get(contextId).delayed = true;
  else {
    const st = new Armed(null, policyName);
    st.delayed = true;
    armed.set(contextId, st);
  }
}

/** proxy_on_delete of a stream. */
export function disarmResponse(contextId: u32): void {
  if (armed.size > 0 && armed.has(contextId)) armed.delete(contextId);
}

function upstreamStatus(): u32 {
  const v = abi.getHeaderValue(MapType.ResponseHeaders, H_STATUS);
  if (v == null) return 0;
  const code = decimal(v.ptr, v.len < 3 ? v.len : 3, 3); // the first three bytes, as before
  v.free();
  return code < 0 ? 0 : <u32>code;
}

/** proxy_on_response_headers. */
export function onResponseHeaders(contextId: u32, endOfStream: bool): u32 {
  if (armed.size == 0 || !armed.has(contextId)) return Action.Continue;
  const st = armed.get(contextId);
  const R = MapType.ResponseHeaders;
  if (st.delayed) {
    abi.replaceHeader(R, FAULT_HEADER, st.policyName);
    abi.replaceHeader(R, FAULT_KIND_HEADER, KIND_DELAY);
  }
  const action = st.action;
  if (action == null) {
    armed.delete(contextId);
    return Action.Continue;
  }
  const a = changetype<ResponseAction>(action);
  if (a.hasStatusMatch && !a.statusHolds(upstreamStatus())) {
    armed.delete(contextId);
    return Action.Continue;
  }
  if (a.status != 0) abi.replaceHeader(R, H_STATUS, a.statusText);
  for (let i = 0; i < a.removeNames.length; i++) abi.removeHeader(R, a.removeNames[i]);
  for (let i = 0; i < a.setNames.length; i++) abi.replaceHeader(R, a.setNames[i], a.setValues[i]);
  for (let i = 0; i < a.addNames.length; i++) abi.addHeader(R, a.addNames[i], a.addValues[i]);
  abi.replaceHeader(R, FAULT_HEADER, st.policyName);
  abi.incrementMetric(mResponses, 1);
  // Without a body to follow (HEAD, 204, 304, empty upstream reply) there is nothing to replace:
  // proxy-wasm cannot add a body to a response whose headers ended the stream.
  if (!a.hasBody || endOfStream) {
    armed.delete(contextId);
    return Action.Continue;
  }
  abi.replaceHeader(R, H_CONTENT_LENGTH, a.bodyLength);
  abi.removeHeader(R, H_CONTENT_ENCODING); // the injected body is plain
  return Action.Continue;
}

/** The body callback's buffer size after onResponseBody (what a rate limit then counts). */
export let bodySizeAfter: u32 = 0;

/** proxy_on_response_body: the first chunk becomes the injected body, the rest is dropped. */
export function onResponseBody(contextId: u32, bodySize: u32, endOfStream: bool): u32 {
  bodySizeAfter = bodySize;
  if (armed.size == 0 || !armed.has(contextId)) return DataAction.Continue;
  const st = armed.get(contextId);
  const a = st.action;
  if (a == null) return DataAction.Continue; // a delay mark only (its headers never came)
  const body = a.body;
  if (!st.bodyWritten) {
    st.bodyWritten = true;
    abi.setBufferBytes(BufferType.HttpResponseBody, 0, bodySize, body);
    bodySizeAfter = <u32>body.byteLength;
  } else if (bodySize > 0) {
    abi.setBufferBytes(BufferType.HttpResponseBody, 0, bodySize, EMPTY);
    bodySizeAfter = 0;
  }
  if (endOfStream) armed.delete(contextId);
  return DataAction.Continue;
}
