// Linking a checked module (strict.ts accepted it) to the host functions and
// instantiating it: only what the module imports is handed over, each import
// wrapped with Envoy's start-time restriction and the optional guest/host
// timing; plus the functions Envoy links that this host does not implement.
import { performance } from "node:perf_hooks";
import { START_ALLOWED_IMPORTS, WasmResult as R } from "./abi.ts";
import type { CheckedModule } from "./strict.ts";
import type { HostFunction, ImportTable } from "./host-env.ts";
import type { HostLogger } from "./logger.ts";
import type { HostStats } from "./options.ts";

/** VM state the import wrappers consult on every call. */
export interface LinkGate {
  /** True while _initialize/_start/main run (cpp-host restricts host calls then). */
  readonly restricted: boolean;
  /** Time host functions called from the guest (stats.hostInGuestMs). */
  readonly measureGuest: boolean;
  readonly stats: HostStats;
  readonly logger: HostLogger;
}

/** The import object for `checked`: `env` functions and WASI (under both module names). */
export function link(checked: CheckedModule, env: ImportTable, wasi: ImportTable, gate: LinkGate): WebAssembly.Imports {
  const all: Record<string, ImportTable> = { env, wasi_snapshot_preview1: wasi, wasi_unstable: wasi };
  // Only hand over what the module imports: strictness was checked already.
  const needed: WebAssembly.Imports = {};
  for (const imp of checked.info.imports) {
    const mod = (needed[imp.module] ??= {}) as Record<string, WebAssembly.ImportValue>;
    const fn: HostFunction = all[imp.module]![imp.name]!;
    const full = `${imp.module}.${imp.name}`;
    const isWasi = imp.module !== "env";
    const allowedAtStart = START_ALLOWED_IMPORTS.has(full);
    // Fixed arity (max 12 params in the ABI) instead of rest/spread: this is on the hot path.
    mod[imp.name] = (a0: any, a1: any, a2: any, a3: any, a4: any, a5: any, a6: any, a7: any, a8: any, a9: any, a10: any, a11: any) => {
      if (gate.restricted && !allowedAtStart) {
        gate.logger.error({ fn: full }, "Attempted call to a restricted capability during VM start");
        return isWasi ? 76 : R.InternalFailure;
      }
      if (!gate.measureGuest) return fn(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11);
      const t0 = performance.now();
      try {
        return fn(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11);
      } finally {
        gate.stats.hostInGuestMs += performance.now() - t0;
      }
    };
  }
  return needed;
}

export type GuestFunction = (...args: number[]) => number | undefined;

export interface Instance {
  memory: WebAssembly.Memory;
  /** Exported functions by name. */
  exports: Record<string, GuestFunction>;
  /** The guest allocator Envoy uses for host results (malloc, else proxy_on_memory_allocate). */
  malloc: GuestFunction;
}

export async function instantiate(checked: CheckedModule, imports: WebAssembly.Imports): Promise<Instance> {
  const instance = await WebAssembly.instantiate(checked.module, imports);
  const e = instance.exports;
  const exports: Record<string, GuestFunction> = {};
  for (const [name, v] of Object.entries(e)) if (typeof v === "function") exports[name] = v as GuestFunction;
  return { memory: e.memory as WebAssembly.Memory, exports, malloc: exports.malloc ?? exports.proxy_on_memory_allocate! };
}
