// proxy_log and proxy_get_log_level: guest log lines go to the host logger at
// the matching level.
import { LogLevel, WasmResult } from "../abi.ts";
import { logAt } from "../logger.ts";
import type { HostEnv, ImportTable } from "../host-env.ts";

/** proxy_log / proxy_get_log_level; `hostLogLevel` is what the guest is told to log at. */
export function logImports(env: HostEnv, hostLogLevel: number): ImportTable {
  const { mem } = env;
  return {
    proxy_log: (level: number, ptr: number, size: number) => {
      if (level >>> 0 > LogLevel.critical) return WasmResult.BadArgument;
      const msg = mem.str(ptr, size);
      if (msg === undefined) return WasmResult.InvalidMemoryAccess;
      logAt(env.logger, level, { wasm: true, context: env.context()?.id, worker: env.options.worker }, msg);
      return WasmResult.Ok;
    },
    proxy_get_log_level: (ptr: number) => (mem.setU32(ptr, hostLogLevel) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess),
  };
}
