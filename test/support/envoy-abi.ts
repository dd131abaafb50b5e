// The proxy-wasm ABI as Envoy implements it (proxy-wasm-cpp-host, ABI v0.2.1),
// as data. Two users: test/filter/abi.test.ts checks the built filter imports
// nothing else and exports callbacks with exactly these types, and the Node
// host in filter/host/ refuses modules whose imports are not in this table.
//
// Sources (read, not copied): proxy-wasm-cpp-host src/wasm.cc
// (WasmBase::registerCallbacks / getFunctions), include/proxy-wasm/exports.h
// (host function signatures; every `Word` is i32 on wasm32, int64_t/uint64_t
// are i64), include/proxy-wasm/wasm.h (callback member types: WasmCallWord<N>
// = N i32 params -> i32, WasmCallVoid<N> = N i32 params -> void), and
// proxy-wasm/spec abi-versions/v0.2.1/README.md (enum values).

export type WasmValType = "i32" | "i64" | "f32" | "f64";

export interface AbiSignature {
  readonly params: readonly WasmValType[];
  readonly results: readonly WasmValType[];
}

const i32 = "i32" as const;
const i64 = "i64" as const;
const sig = (params: WasmValType[], results: WasmValType[] = [i32]): AbiSignature => ({ params, results });
const words = (n: number, results: WasmValType[] = [i32]): AbiSignature => sig(Array(n).fill(i32), results);

/** Host functions Envoy registers in module "env" for ABI v0.2.1, keyed by name. */
export const ENVOY_ENV_FUNCTIONS: Readonly<Record<string, AbiSignature>> = {
  // FOR_ALL_HOST_FUNCTIONS
  proxy_log: words(3),
  proxy_get_status: words(3),
  proxy_set_property: words(4),
  proxy_get_property: words(4),
  proxy_send_local_response: words(8),
  proxy_get_shared_data: words(5),
  proxy_set_shared_data: words(5),
  proxy_register_shared_queue: words(3),
  proxy_resolve_shared_queue: words(5),
  proxy_dequeue_shared_queue: words(3),
  proxy_enqueue_shared_queue: words(3),
  proxy_get_header_map_value: words(5),
  proxy_add_header_map_value: words(5),
  proxy_replace_header_map_value: words(5),
  proxy_remove_header_map_value: words(3),
  proxy_get_header_map_pairs: words(3),
  proxy_set_header_map_pairs: words(3),
  proxy_get_header_map_size: words(2),
  proxy_get_buffer_status: words(3),
  proxy_get_buffer_bytes: words(5),
  proxy_set_buffer_bytes: words(5),
  proxy_http_call: words(10),
  proxy_grpc_call: words(12),
  proxy_grpc_stream: words(9),
  proxy_grpc_close: words(1),
  proxy_grpc_cancel: words(1),
  proxy_grpc_send: words(4),
  proxy_set_tick_period_milliseconds: words(1),
  proxy_get_current_time_nanoseconds: words(1),
  proxy_define_metric: words(4),
  proxy_increment_metric: sig([i32, i64]),
  proxy_record_metric: sig([i32, i64]),
  proxy_get_metric: words(2),
  proxy_set_effective_context: words(1),
  proxy_done: words(0),
  proxy_call_foreign_function: words(6),
  // ABI 0.2.1 specific
  proxy_continue_stream: words(1),
  proxy_close_stream: words(1),
  proxy_get_log_level: words(1),
  // Emscripten leftovers Envoy still registers.
  pthread_equal: words(2),
  emscripten_notify_memory_growth: words(1, []),
};

/** WASI functions Envoy registers, identically, in "wasi_snapshot_preview1" and "wasi_unstable". */
export const ENVOY_WASI_FUNCTIONS: Readonly<Record<string, AbiSignature>> = {
  fd_write: words(4),
  fd_read: words(4),
  fd_seek: sig([i32, i64, i32, i32]),
  fd_close: words(1),
  fd_fdstat_get: words(2),
  environ_get: words(2),
  environ_sizes_get: words(2),
  args_get: words(2),
  args_sizes_get: words(2),
  clock_time_get: sig([i32, i64, i32]),
  random_get: words(2),
  proc_exit: words(1, []),
  path_open: sig([i32, i32, i32, i32, i32, i64, i64, i32, i32]),
  fd_prestat_get: words(2),
  fd_prestat_dir_name: words(3),
};

export const WASI_MODULES = ["wasi_snapshot_preview1", "wasi_unstable"] as const;

/** Every import Envoy can satisfy, keyed "module.name". */
export const ENVOY_IMPORTS: Readonly<Record<string, AbiSignature>> = Object.freeze({
  ...Object.fromEntries(Object.entries(ENVOY_ENV_FUNCTIONS).map(([n, s]) => [`env.${n}`, s])),
  ...Object.fromEntries(
    WASI_MODULES.flatMap((m) => Object.entries(ENVOY_WASI_FUNCTIONS).map(([n, s]) => [`${m}.${n}`, s])),
  ),
});

/**
 * Imports allowed while Envoy runs `_initialize` / `_start` / `main`
 * (WasmBase::startVm restricts host calls to these; any other call fails).
 */
export const ENVOY_START_ALLOWED_IMPORTS: readonly string[] = [
  "env.proxy_log",
  ...WASI_MODULES.flatMap((m) =>
    [
      "fd_write", "args_sizes_get", "args_get", "environ_sizes_get", "environ_get",
      "fd_prestat_get", "fd_prestat_dir_name", "clock_time_get", "random_get",
    ].map((n) => `${m}.${n}`),
  ),
];

/**
 * Exports Envoy looks up (all optional except an allocator and the ABI marker),
 * with the exact types it requires; a mismatching type makes Envoy fail the module.
 * on_request_headers/on_response_headers use their ABI 0.2.x shape (3 params).
 */
export const ENVOY_CALLBACKS: Readonly<Record<string, AbiSignature>> = {
  _initialize: words(0, []),
  _start: words(0, []),
  main: words(2),
  malloc: words(1),
  proxy_on_memory_allocate: words(1),
  proxy_validate_configuration: words(2),
  proxy_on_vm_start: words(2),
  proxy_on_configure: words(2),
  proxy_on_tick: words(1, []),
  proxy_on_context_create: words(2, []),
  proxy_on_new_connection: words(1),
  proxy_on_downstream_data: words(3),
  proxy_on_upstream_data: words(3),
  proxy_on_downstream_connection_close: words(2, []),
  proxy_on_upstream_connection_close: words(2, []),
  proxy_on_request_headers: words(3),
  proxy_on_request_body: words(3),
  proxy_on_request_trailers: words(2),
  proxy_on_request_metadata: words(2),
  proxy_on_response_headers: words(3),
  proxy_on_response_body: words(3),
  proxy_on_response_trailers: words(2),
  proxy_on_response_metadata: words(2),
  proxy_on_http_call_response: words(5, []),
  proxy_on_grpc_receive: words(3, []),
  proxy_on_grpc_close: words(3, []),
  proxy_on_grpc_receive_initial_metadata: words(3, []),
  proxy_on_grpc_receive_trailing_metadata: words(3, []),
  proxy_on_queue_ready: words(2, []),
  proxy_on_foreign_function: words(3, []),
  proxy_on_done: words(1),
  proxy_on_log: words(1, []),
  proxy_on_delete: words(1, []),
};

/** Marker exports (never called); exactly one must be present. Envoy supports these three. */
export const ABI_VERSION_MARKERS = ["proxy_abi_version_0_1_0", "proxy_abi_version_0_2_0", "proxy_abi_version_0_2_1"] as const;
export const ABI_VERSION_MARKER = "proxy_abi_version_0_2_1";

// Enum values of ABI v0.2.1 (proxy-wasm spec "Types" section).
export const LogLevel = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, critical: 5 } as const;
export const WasmResult = {
  Ok: 0, NotFound: 1, BadArgument: 2, SerializationFailure: 3, ParseFailure: 4, BadExpression: 5,
  InvalidMemoryAccess: 6, Empty: 7, CasMismatch: 8, ResultMismatch: 9, InternalFailure: 10,
  BrokenConnection: 11, Unimplemented: 12,
} as const;
/** proxy_on_request_headers results (FilterHeadersStatus). */
export const Action = { Continue: 0, StopIteration: 1, ContinueAndEndStream: 2, StopAllIterationAndBuffer: 3, StopAllIterationAndWatermark: 4 } as const;
export const BufferType = {
  HttpRequestBody: 0, HttpResponseBody: 1, NetworkDownstreamData: 2, NetworkUpstreamData: 3,
  HttpCallResponseBody: 4, GrpcReceiveBuffer: 5, VmConfiguration: 6, PluginConfiguration: 7, CallData: 8,
} as const;
export const MapType = {
  RequestHeaders: 0, RequestTrailers: 1, ResponseHeaders: 2, ResponseTrailers: 3,
  GrpcReceiveInitialMetadata: 4, GrpcReceiveTrailingMetadata: 5, HttpCallResponseHeaders: 6, HttpCallResponseTrailers: 7,
} as const;
export const StreamType = { Request: 0, Response: 1, Downstream: 2, Upstream: 3 } as const;
export const MetricType = { Counter: 0, Gauge: 1, Histogram: 2 } as const;
export const WasiClock = { Realtime: 0, Monotonic: 1 } as const;

/** True when two signatures are identical. */
export function sameSignature(a: AbiSignature, b: AbiSignature): boolean {
  return a.params.length === b.params.length && a.results.length === b.results.length &&
    a.params.every((t, i) => t === b.params[i]) && a.results.every((t, i) => t === b.results[i]);
}

export interface WasmImport { module: string; name: string; kind: "function" | "table" | "memory" | "global"; signature?: AbiSignature }
export interface WasmExport { name: string; kind: "function" | "table" | "memory" | "global"; signature?: AbiSignature }

/**
 * Reads import/export names with function signatures from a wasm binary
 * (WebAssembly.Module.imports/exports do not report types). Only the type,
 * import, function and export sections are decoded.
 */
export function readWasmSignatures(bytes: Uint8Array): { imports: WasmImport[]; exports: WasmExport[] } {
  let p = 8;
  const u = (): number => {
    let result = 0, shift = 0, b: number;
    do { b = bytes[p++]!; result += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    return result;
  };
  const name = (): string => { const n = u(); const s = Buffer.from(bytes.subarray(p, p + n)).toString("utf8"); p += n; return s; };
  const valType = (b: number): WasmValType => {
    const t = ({ 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64" } as Record<number, WasmValType>)[b];
    if (!t) throw new Error(`unsupported value type 0x${b.toString(16)}`);
    return t;
  };
  const limits = (): void => { const flag = u(); u(); if (flag & 1) u(); };
  const kinds = ["function", "table", "memory", "global"] as const;
  const types: AbiSignature[] = [];
  const funcTypes: number[] = []; // function index -> type index
  const imports: WasmImport[] = [];
  const exports: WasmExport[] = [];
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new Error("not a wasm module");
  while (p < bytes.length) {
    const id = bytes[p++]!;
    const size = u();
    const end = p + size;
    if (id === 1) {
      for (let n = u(); n > 0; n--) {
        if (bytes[p++] !== 0x60) throw new Error("bad function type");
        const params: WasmValType[] = [];
        for (let k = u(); k > 0; k--) params.push(valType(bytes[p++]!));
        const results: WasmValType[] = [];
        for (let k = u(); k > 0; k--) results.push(valType(bytes[p++]!));
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = u(); n > 0; n--) {
        const module = name();
        const field = name();
        const kind = kinds[bytes[p++]!]!;
        if (kind === "function") { const t = u(); funcTypes.push(t); imports.push({ module, name: field, kind, signature: types[t] }); }
        else if (kind === "table") { p++; limits(); imports.push({ module, name: field, kind }); }
        else if (kind === "memory") { limits(); imports.push({ module, name: field, kind }); }
        else { p += 2; imports.push({ module, name: field, kind }); }
      }
    } else if (id === 3) {
      for (let n = u(); n > 0; n--) funcTypes.push(u());
    } else if (id === 7) {
      for (let n = u(); n > 0; n--) {
        const field = name();
        const kind = kinds[bytes[p++]!]!;
        const index = u();
        exports.push(kind === "function" ? { name: field, kind, signature: types[funcTypes[index]!] } : { name: field, kind });
      }
    }
    p = end;
  }
  return { imports, exports };
}
