// The proxy-wasm ABI 0.2.1 as Envoy (proxy-wasm-cpp-host) implements it:
// enum values, the host functions it links and their wasm signatures, and the
// module callbacks it looks up. Signatures use wasm value types ("i32",
// "i64"): a cpp-host `Word` is i32 on wasm32, int64_t/uint64_t are i64.

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";
export interface FuncSig {
  params: ValType[];
  results: ValType[];
}

const w = (n: number): ValType[] => Array.from({ length: n }, () => "i32" as const);
/** n i32 params -> i32 result (cpp-host `Word f(Word x n)`). */
const word = (n: number): FuncSig => ({ params: w(n), results: ["i32"] });
const voidOf = (n: number): FuncSig => ({ params: w(n), results: [] });

/** WasmResult (returned by every proxy_* host function). */
export const WasmResult = {
  Ok: 0,
  NotFound: 1,
  BadArgument: 2,
  SerializationFailure: 3,
  ParseFailure: 4,
  BadExpression: 5,
  InvalidMemoryAccess: 6,
  Empty: 7,
  CasMismatch: 8,
  ResultMismatch: 9,
  InternalFailure: 10,
  BrokenConnection: 11,
  Unimplemented: 12,
} as const;

export const HeaderMapType = {
  RequestHeaders: 0,
  RequestTrailers: 1,
  ResponseHeaders: 2,
  ResponseTrailers: 3,
  GrpcReceiveInitialMetadata: 4,
  GrpcReceiveTrailingMetadata: 5,
  HttpCallResponseHeaders: 6,
  HttpCallResponseTrailers: 7,
} as const;

export const BufferType = {
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  NetworkDownstreamData: 2,
  NetworkUpstreamData: 3,
  HttpCallResponseBody: 4,
  GrpcReceiveBuffer: 5,
  VmConfiguration: 6,
  PluginConfiguration: 7,
  CallData: 8,
} as const;

export const MetricType = { Counter: 0, Gauge: 1, Histogram: 2 } as const;
/** Metric ids carry their type in the low bits (cpp-host kMetricTypeMask). */
export const METRIC_TYPE_MASK = 0x3;
export const METRIC_ID_INCREMENT = 0x4;

/** proxy_log / proxy_get_log_level levels. */
export const LogLevel = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, critical: 5 } as const;
export type LogLevelName = keyof typeof LogLevel;

export const StreamType = { Request: 0, Response: 1, Downstream: 2, Upstream: 3 } as const;

/** proxy_on_request_headers / proxy_on_response_headers return values. */
export const FilterHeadersStatus = {
  Continue: 0,
  StopIteration: 1,
  ContinueAndEndStream: 2,
  StopAllIterationAndBuffer: 3,
  StopAllIterationAndWatermark: 4,
} as const;

/** proxy_on_request_body / proxy_on_response_body return values. */
export const FilterDataStatus = {
  Continue: 0,
  StopIterationAndBuffer: 1,
  StopIterationAndWatermark: 2,
  StopIterationNoBuffer: 3,
} as const;

/** Callout token kinds (low 2 bits of a token, cpp-host CalloutType). */
export const CalloutType = { HttpCall: 0, GrpcCall: 1, GrpcStream: 2 } as const;

/** grpc_status argument of proxy_send_local_response meaning "not set". */
export const GRPC_STATUS_UNSET = 0xffffffff;

/** Functions Envoy links into module "env" for ABI 0.2.1 (exports.h FOR_ALL_HOST_FUNCTIONS + ABI-specific). */
export const ENV_FUNCTIONS: Record<string, FuncSig> = {
  proxy_log: word(3),
  proxy_get_status: word(3),
  proxy_set_property: word(4),
  proxy_get_property: word(4),
  proxy_send_local_response: word(8),
  proxy_get_shared_data: word(5),
  proxy_set_shared_data: word(5),
  proxy_register_shared_queue: word(3),
  proxy_resolve_shared_queue: word(5),
  proxy_dequeue_shared_queue: word(3),
  proxy_enqueue_shared_queue: word(3),
  proxy_get_header_map_value: word(5),
  proxy_add_header_map_value: word(5),
  proxy_replace_header_map_value: word(5),
  proxy_remove_header_map_value: word(3),
  proxy_get_header_map_pairs: word(3),
  proxy_set_header_map_pairs: word(3),
  proxy_get_header_map_size: word(2),
  proxy_get_buffer_status: word(3),
  proxy_get_buffer_bytes: word(5),
  proxy_set_buffer_bytes: word(5),
  proxy_http_call: word(10),
  proxy_grpc_call: word(12),
  proxy_grpc_stream: word(9),
  proxy_grpc_close: word(1),
  proxy_grpc_cancel: word(1),
  proxy_grpc_send: word(4),
  proxy_set_tick_period_milliseconds: word(1),
  proxy_get_current_time_nanoseconds: word(1),
  proxy_define_metric: word(4),
  proxy_increment_metric: { params: ["i32", "i64"], results: ["i32"] },
  proxy_record_metric: { params: ["i32", "i64"], results: ["i32"] },
  proxy_get_metric: word(2),
  proxy_set_effective_context: word(1),
  proxy_done: word(0),
  proxy_call_foreign_function: word(6),
  // ABI 0.2.1 specific.
  proxy_continue_stream: word(1),
  proxy_close_stream: word(1),
  proxy_get_log_level: word(1),
  // Always registered by cpp-host.
  pthread_equal: word(2),
  emscripten_notify_memory_growth: voidOf(1),
};

/** WASI functions Envoy links, under both "wasi_snapshot_preview1" and "wasi_unstable". */
export const WASI_FUNCTIONS: Record<string, FuncSig> = {
  fd_write: word(4),
  fd_read: word(4),
  fd_seek: { params: ["i32", "i64", "i32", "i32"], results: ["i32"] },
  fd_close: word(1),
  fd_fdstat_get: word(2),
  environ_get: word(2),
  environ_sizes_get: word(2),
  args_get: word(2),
  args_sizes_get: word(2),
  clock_time_get: { params: ["i32", "i64", "i32"], results: ["i32"] },
  random_get: word(2),
  proc_exit: voidOf(1),
  path_open: {
    params: ["i32", "i32", "i32", "i32", "i32", "i64", "i64", "i32", "i32"],
    results: ["i32"],
  },
  fd_prestat_get: word(2),
  fd_prestat_dir_name: word(3),
};

export const WASI_MODULES = ["wasi_snapshot_preview1", "wasi_unstable"] as const;

/** Imports the guest may call while Envoy runs _initialize/_start/main (WasmBase::startVm). */
export const START_ALLOWED_IMPORTS: ReadonlySet<string> = new Set([
  "env.proxy_log",
  ...WASI_MODULES.flatMap((m) =>
    [
      "fd_write",
      "args_sizes_get",
      "args_get",
      "environ_sizes_get",
      "environ_get",
      "fd_prestat_get",
      "fd_prestat_dir_name",
      "clock_time_get",
      "random_get",
    ].map((n) => `${m}.${n}`),
  ),
]);

/** Every import Envoy can satisfy: "module.name" -> signature. */
export function envoyImports(): Map<string, FuncSig> {
  const m = new Map<string, FuncSig>();
  for (const [n, s] of Object.entries(ENV_FUNCTIONS)) m.set(`env.${n}`, s);
  for (const mod of WASI_MODULES) for (const [n, s] of Object.entries(WASI_FUNCTIONS)) m.set(`${mod}.${n}`, s);
  return m;
}

/** Module exports Envoy looks up (wasm.cc getFunctions), with the signature it requires. */
export const MODULE_CALLBACKS: Record<string, FuncSig> = {
  _initialize: voidOf(0),
  _start: voidOf(0),
  main: word(2),
  malloc: word(1),
  proxy_on_memory_allocate: word(1),
  proxy_validate_configuration: word(2),
  proxy_on_vm_start: word(2),
  proxy_on_configure: word(2),
  proxy_on_tick: voidOf(1),
  proxy_on_context_create: voidOf(2),
  proxy_on_new_connection: word(1),
  proxy_on_downstream_data: word(3),
  proxy_on_upstream_data: word(3),
  proxy_on_downstream_connection_close: voidOf(2),
  proxy_on_upstream_connection_close: voidOf(2),
  proxy_on_request_headers: word(3),
  proxy_on_request_body: word(3),
  proxy_on_request_trailers: word(2),
  proxy_on_request_metadata: word(2),
  proxy_on_response_headers: word(3),
  proxy_on_response_body: word(3),
  proxy_on_response_trailers: word(2),
  proxy_on_response_metadata: word(2),
  proxy_on_http_call_response: voidOf(5),
  proxy_on_grpc_receive: voidOf(3),
  proxy_on_grpc_close: voidOf(3),
  proxy_on_grpc_receive_initial_metadata: voidOf(3),
  proxy_on_grpc_receive_trailing_metadata: voidOf(3),
  proxy_on_queue_ready: voidOf(2),
  proxy_on_foreign_function: voidOf(3),
  proxy_on_done: word(1),
  proxy_on_log: voidOf(1),
  proxy_on_delete: voidOf(1),
};

/** The export that declares the ABI version (cpp-host bytecode_util getAbiVersion). */
export const ABI_VERSION_EXPORTS = {
  proxy_abi_version_0_1_0: "0.1.0",
  proxy_abi_version_0_2_0: "0.2.0",
  proxy_abi_version_0_2_1: "0.2.1",
} as const;

export function sigToString(s: FuncSig): string {
  return `(${s.params.join(", ")}) -> (${s.results.join(", ")})`;
}

export function sameSig(a: FuncSig, b: FuncSig): boolean {
  return (
    a.params.length === b.params.length &&
    a.results.length === b.results.length &&
    a.params.every((p, i) => p === b.params[i]) &&
    a.results.every((r, i) => r === b.results[i])
  );
}
