// Host functions Envoy links that this host does not implement: they answer
// Unimplemented (and say so in the log), so a module using them still loads.
import { WasmResult as R } from "../abi.ts";
import type { ImportTable } from "../host-env.ts";
import type { HostLogger } from "../logger.ts";

/** Linked by Envoy but not available in this host (documented in README.md, "Differences from Envoy and limits"). */
export function envoyOnlyImports(logger: HostLogger): ImportTable {
  const env: ImportTable = {};
  const unimplemented = (name: string) => () => {
    logger.warn({ fn: name }, "host function not implemented by the HFI host");
    return R.Unimplemented;
  };
  for (const n of [
    "proxy_get_shared_data",
    "proxy_set_shared_data",
    "proxy_register_shared_queue",
    "proxy_resolve_shared_queue",
    "proxy_dequeue_shared_queue",
    "proxy_enqueue_shared_queue",
    "proxy_http_call",
    "proxy_grpc_call",
    "proxy_call_foreign_function",
  ]) {
    env[n] = unimplemented(n);
  }
  env.pthread_equal = (a: number, b: number) => (a === b ? 1 : 0);
  env.emscripten_notify_memory_growth = () => {};
  return env;
}
