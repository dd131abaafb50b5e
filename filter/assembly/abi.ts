// Typed layer over the proxy-wasm ABI v0.2.1 host functions this filter uses.
// Signatures follow Envoy (proxy-wasm-cpp-host include/proxy-wasm/exports.h):
// every Word is i32 on wasm32, metric values are i64. The table lives in
// test/support/envoy-abi.ts and filter/README.md ("ABI table").

@external("env", "proxy_log")
declare function proxy_log(level: i32, ptr: usize, size: usize): i32;
@external("env", "proxy_get_log_level")
declare function proxy_get_log_level(levelPtr: usize): i32;
@external("env", "proxy_get_buffer_bytes")
declare function proxy_get_buffer_bytes(type: i32, start: u32, length: u32, ptrPtr: usize, sizePtr: usize): i32;
@external("env", "proxy_get_header_map_pairs")
declare function proxy_get_header_map_pairs(type: i32, ptrPtr: usize, sizePtr: usize): i32;
@external("env", "proxy_get_header_map_value")
declare function proxy_get_header_map_value(type: i32, keyPtr: usize, keySize: usize, ptrPtr: usize, sizePtr: usize): i32;
@external("env", "proxy_replace_header_map_value")
declare function proxy_replace_header_map_value(type: i32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize): i32;
@external("env", "proxy_add_header_map_value")
declare function proxy_add_header_map_value(type: i32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize): i32;
@external("env", "proxy_remove_header_map_value")
declare function proxy_remove_header_map_value(type: i32, keyPtr: usize, keySize: usize): i32;
@external("env", "proxy_set_buffer_bytes")
declare function proxy_set_buffer_bytes(type: i32, start: u32, length: u32, ptr: usize, size: usize): i32;
@external("env", "proxy_get_property")
declare function proxy_get_property(pathPtr: usize, pathSize: usize, ptrPtr: usize, sizePtr: usize): i32;
@external("env", "proxy_send_local_response")
declare function proxy_send_local_response(
  status: u32, detailsPtr: usize, detailsSize: usize, bodyPtr: usize, bodySize: usize,
  headersPtr: usize, headersSize: usize, grpcStatus: i32): i32;
@external("env", "proxy_continue_stream")
declare function proxy_continue_stream(streamType: i32): i32;
@external("env", "proxy_set_effective_context")
declare function proxy_set_effective_context(contextId: u32): i32;
@external("env", "proxy_set_tick_period_milliseconds")
declare function proxy_set_tick_period_milliseconds(ms: u32): i32;
@external("env", "proxy_get_current_time_nanoseconds")
declare function proxy_get_current_time_nanoseconds(resultPtr: usize): i32;
@external("env", "proxy_grpc_stream")
declare function proxy_grpc_stream(
  servicePtr: usize, serviceSize: usize, serviceNamePtr: usize, serviceNameSize: usize,
  methodPtr: usize, methodSize: usize, metadataPtr: usize, metadataSize: usize, tokenPtr: usize): i32;
@external("env", "proxy_grpc_send")
declare function proxy_grpc_send(token: u32, ptr: usize, size: usize, endStream: i32): i32;
@external("env", "proxy_grpc_close")
declare function proxy_grpc_close(token: u32): i32;
@external("env", "proxy_grpc_cancel")
declare function proxy_grpc_cancel(token: u32): i32;
@external("env", "proxy_get_status")
declare function proxy_get_status(codePtr: usize, ptrPtr: usize, sizePtr: usize): i32;
@external("env", "proxy_define_metric")
declare function proxy_define_metric(type: i32, namePtr: usize, nameSize: usize, idPtr: usize): i32;
@external("env", "proxy_increment_metric")
declare function proxy_increment_metric(id: u32, offset: i64): i32;
@external("env", "proxy_record_metric")
declare function proxy_record_metric(id: u32, value: u64): i32;
@external("wasi_snapshot_preview1", "random_get")
declare function wasi_random_get(ptr: usize, size: usize): i32;
@external("wasi_snapshot_preview1", "clock_time_get")
declare function wasi_clock_time_get(clockId: i32, precision: u64, resultPtr: usize): i32;

export const enum LogLevel { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4, Critical = 5 }
export const enum WasmResult { Ok = 0, NotFound = 1, BadArgument = 2 }
/** proxy_on_request_headers results (FilterHeadersStatus). */
export const enum Action { Continue = 0, StopIteration = 1, StopAllIterationAndWatermark = 4 }
/** proxy_on_request_body results (FilterDataStatus). */
export const enum DataAction { Continue = 0, StopIterationAndWatermark = 2 }
export const enum BufferType { HttpResponseBody = 1, GrpcReceiveBuffer = 5, VmConfiguration = 6, PluginConfiguration = 7 }
export const enum MapType { RequestHeaders = 0, ResponseHeaders = 2 }
export const enum StreamType { Request = 0, Response = 1 }
export const enum MetricType { Counter = 0, Gauge = 1, Histogram = 2 }

// Out-parameters for host calls (ptr, size, token...): static, never GC'd.
const OUT_PTR: usize = memory.data(8);
const OUT_SIZE: usize = memory.data(8);
const OUT_U64: usize = memory.data(8);

/** A byte range in linear memory owned by the host's allocation (heap.alloc via proxy_on_memory_allocate). */
export class HostBytes {
  constructor(public ptr: usize, public len: i32) {}
  /** Returns the memory to the allocator; safe to call once. */
  free(): void {
    if (this.ptr != 0) heap.free(this.ptr);
    this.ptr = 0;
    this.len = 0;
  }
}

/** True when [ptr, ptr+len) lies inside linear memory (a host bug must not make us trap). */
function inMemory(ptr: usize, len: u32): bool {
  return <u64>ptr + <u64>len <= <u64>memory.size() << 16 && len < 0x80000000;
}

function takeOut(rc: i32): HostBytes | null {
  if (rc != WasmResult.Ok) return null;
  const ptr = load<usize>(OUT_PTR);
  const len = load<u32>(OUT_SIZE);
  if (!inMemory(ptr, len)) return null;
  return new HostBytes(ptr, <i32>len);
}

function clearOut(): void {
  store<usize>(OUT_PTR, 0);
  store<u32>(OUT_SIZE, 0);
}

let logLevelCache: i32 = -1;

/** Host log level (cached per callback batch by the caller via refreshLogLevel). */
export function refreshLogLevel(): void {
  store<u32>(OUT_U64, 0);
  logLevelCache = proxy_get_log_level(OUT_U64) == WasmResult.Ok ? <i32>load<u32>(OUT_U64) : LogLevel.Info;
}

export function log(level: LogLevel, message: string): void {
  if (logLevelCache >= 0 && <i32>level < logLevelCache) return;
  const bytes = String.UTF8.encode(message);
  proxy_log(level, changetype<usize>(bytes), <usize>bytes.byteLength);
}

/** Raw log from static memory (used by the abort handler: must not allocate). */
export function logRaw(level: LogLevel, ptr: usize, len: usize): void {
  proxy_log(level, ptr, len);
}

export function getBufferBytes(type: BufferType, start: u32, length: u32): HostBytes | null {
  clearOut();
  return takeOut(proxy_get_buffer_bytes(type, start, length, OUT_PTR, OUT_SIZE));
}

/** Request header pairs of the current stream, left in pairsPtr/pairsLen (caller frees pairsPtr when != 0). No allocation. */
export let pairsPtr: usize = 0;
export let pairsLen: i32 = 0;
export function loadRequestHeaderPairs(): bool {
  clearOut();
  const ok = proxy_get_header_map_pairs(MapType.RequestHeaders, OUT_PTR, OUT_SIZE) == WasmResult.Ok &&
    inMemory(load<usize>(OUT_PTR), load<u32>(OUT_SIZE));
  pairsPtr = ok ? load<usize>(OUT_PTR) : 0;
  pairsLen = ok ? <i32>load<u32>(OUT_SIZE) : 0;
  return ok;
}

/** Value of a header of map `type` (first occurrence), or null when absent. Caller frees. */
export function getHeaderValue(type: MapType, name: ArrayBuffer): HostBytes | null {
  clearOut();
  return takeOut(proxy_get_header_map_value(type, changetype<usize>(name), <usize>name.byteLength, OUT_PTR, OUT_SIZE));
}

/** Sets a header (every previous value replaced). */
export function replaceHeader(type: MapType, name: ArrayBuffer, value: ArrayBuffer): i32 {
  return proxy_replace_header_map_value(type, changetype<usize>(name), <usize>name.byteLength, changetype<usize>(value), <usize>value.byteLength);
}

/** Adds a header value (existing values kept). */
export function addHeader(type: MapType, name: ArrayBuffer, value: ArrayBuffer): i32 {
  return proxy_add_header_map_value(type, changetype<usize>(name), <usize>name.byteLength, changetype<usize>(value), <usize>value.byteLength);
}

export function removeHeader(type: MapType, name: ArrayBuffer): i32 {
  return proxy_remove_header_map_value(type, changetype<usize>(name), <usize>name.byteLength);
}

/** Replaces bytes [start, start+length) of a body buffer with `data` (Envoy: start 0 drains `length` and prepends). */
export function setBufferBytes(type: BufferType, start: u32, length: u32, data: ArrayBuffer): i32 {
  return proxy_set_buffer_bytes(type, start, length, changetype<usize>(data), <usize>data.byteLength);
}

/**
 * Property lookup with a prebuilt NUL-joined path; the value is left in
 * propPtr/propLen (caller frees propPtr when != 0). No allocation: per request.
 */
export let propPtr: usize = 0;
export let propLen: i32 = 0;
export function loadProperty(path: ArrayBuffer): bool {
  clearOut();
  const ok = proxy_get_property(changetype<usize>(path), <usize>path.byteLength, OUT_PTR, OUT_SIZE) == WasmResult.Ok &&
    inMemory(load<usize>(OUT_PTR), load<u32>(OUT_SIZE));
  propPtr = ok ? load<usize>(OUT_PTR) : 0;
  propLen = ok ? <i32>load<u32>(OUT_SIZE) : 0;
  return ok;
}

/** Property lookup by a path already joined with NUL bytes (built once, reused per request). */
export function getPropertyPath(path: ArrayBuffer): HostBytes | null {
  clearOut();
  return takeOut(proxy_get_property(changetype<usize>(path), <usize>path.byteLength, OUT_PTR, OUT_SIZE));
}

/** A property path as Envoy expects it: segments joined with NUL bytes (build once, reuse per request). */
export function propertyPath(segments: string[]): ArrayBuffer {
  return String.UTF8.encode(segments.join("\0"));
}

/** Property lookup by path segments (for the rare callbacks; requests use a prebuilt path). */
export function getProperty(segments: string[]): HostBytes | null {
  return getPropertyPath(propertyPath(segments));
}

export function sendLocalResponse(status: u32, details: ArrayBuffer, bodyPtr: usize, bodyLen: i32, headers: ArrayBuffer, grpcStatus: i32): i32 {
  return proxy_send_local_response(status, changetype<usize>(details), <usize>details.byteLength,
    bodyPtr, <usize>bodyLen, changetype<usize>(headers), <usize>headers.byteLength, grpcStatus);
}


export function continueRequest(): i32 {
  return proxy_continue_stream(StreamType.Request);
}

/** Releases a response the filter holds (a body stopped with StopIteration*). */
export function continueResponse(): i32 {
  return proxy_continue_stream(StreamType.Response);
}

export function setEffectiveContext(id: u32): i32 {
  return proxy_set_effective_context(id);
}

export function setTickPeriod(ms: u32): void {
  proxy_set_tick_period_milliseconds(ms);
}

/** Wall clock in ms (Envoy: system time). */
export function wallNowMs(): i64 {
  store<u64>(OUT_U64, 0);
  if (wasi_clock_time_get(0, 1000000, OUT_U64) == 0) return <i64>(load<u64>(OUT_U64) / 1000000);
  store<u64>(OUT_U64, 0);
  proxy_get_current_time_nanoseconds(OUT_U64);
  return <i64>(load<u64>(OUT_U64) / 1000000);
}

/** Monotonic clock in ms, for timers and backoff; falls back to the wall clock. */
export function monoNowMs(): i64 {
  store<u64>(OUT_U64, 0);
  if (wasi_clock_time_get(1, 1000000, OUT_U64) == 0) return <i64>(load<u64>(OUT_U64) / 1000000);
  return wallNowMs();
}

/** Fills [ptr, ptr+len) with host randomness; false if the host refused. */
export function randomBytes(ptr: usize, len: usize): bool {
  return wasi_random_get(ptr, len) == 0;
}

/** Opens a gRPC stream; returns the token or 0 with the status in lastGrpcResult. */
export let lastGrpcResult: i32 = 0;
export function grpcStream(cluster: ArrayBuffer, service: ArrayBuffer, method: ArrayBuffer, metadata: ArrayBuffer): u32 {
  store<u32>(OUT_U64, 0);
  lastGrpcResult = proxy_grpc_stream(
    changetype<usize>(cluster), <usize>cluster.byteLength,
    changetype<usize>(service), <usize>service.byteLength,
    changetype<usize>(method), <usize>method.byteLength,
    changetype<usize>(metadata), <usize>metadata.byteLength, OUT_U64);
  if (lastGrpcResult != WasmResult.Ok) return 0;
  return load<u32>(OUT_U64);
}

export function grpcSend(token: u32, message: ArrayBuffer): i32 {
  return proxy_grpc_send(token, changetype<usize>(message), <usize>message.byteLength, 0);
}

/** Closes our side of a stream; after the remote close, Envoy then frees the stream's handler. */
export function grpcClose(token: u32): i32 {
  return proxy_grpc_close(token);
}

export function grpcCancel(token: u32): i32 {
  return proxy_grpc_cancel(token);
}

/** Status message of the last gRPC close (empty when unavailable). */
export function grpcStatusMessage(): string {
  clearOut();
  store<u32>(OUT_U64, 0);
  const rc = proxy_get_status(OUT_U64, OUT_PTR, OUT_SIZE);
  const out = takeOut(rc);
  if (out == null) return "";
  const s = out.len > 0 ? String.UTF8.decodeUnsafe(out.ptr, <usize>out.len) : "";
  out.free();
  return s;
}

export function defineMetric(type: MetricType, name: string): u32 {
  const bytes = String.UTF8.encode(name);
  store<u32>(OUT_U64, 0);
  if (proxy_define_metric(type, changetype<usize>(bytes), <usize>bytes.byteLength, OUT_U64) != WasmResult.Ok) return 0xffffffff;
  return load<u32>(OUT_U64);
}

export function incrementMetric(id: u32, by: i64): void {
  if (id != 0xffffffff) proxy_increment_metric(id, by);
}

export function recordMetric(id: u32, value: u64): void {
  if (id != 0xffffffff) proxy_record_metric(id, value);
}
