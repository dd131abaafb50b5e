// Envoy's link-time checks, done before instantiation: every import must be
// a function Envoy provides with exactly Envoy's signature, the module must
// declare proxy-wasm ABI 0.2.1, export its memory and an allocator, and any
// callback it exports must have the signature Envoy calls it with.
import {
  ABI_VERSION_EXPORTS,
  MODULE_CALLBACKS,
  envoyImports,
  sameSig,
  sigToString,
} from "./abi.ts";
import { readModuleInfo, type ModuleInfo } from "./module-info.ts";

export class WasmModuleError extends Error {
  override name = "WasmModuleError";
}

export interface CheckedModule {
  module: WebAssembly.Module;
  info: ModuleInfo;
  abiVersion: string;
  size: number;
}

export async function checkModule(bytes: Uint8Array): Promise<CheckedModule> {
  let info: ModuleInfo;
  try {
    info = readModuleInfo(bytes);
  } catch (err) {
    throw new WasmModuleError(`wasm module refused: ${(err as Error).message}`);
  }
  const problems = checkInfo(info);
  if (problems.length > 0) throw new WasmModuleError(`wasm module refused: ${problems.join("; ")}`);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new WasmModuleError(`wasm module refused: ${(err as Error).message}`);
  }
  const abi = info.exports.find((e) => e.name in ABI_VERSION_EXPORTS)!;
  return { module, info, abiVersion: ABI_VERSION_EXPORTS[abi.name as keyof typeof ABI_VERSION_EXPORTS], size: bytes.length };
}

/** Every reason Envoy would refuse the module (empty: accepted). */
export function checkInfo(info: ModuleInfo): string[] {
  const problems: string[] = [];
  const provided = envoyImports();
  for (const imp of info.imports) {
    const name = `${imp.module}.${imp.name}`;
    if (imp.kind !== "function") {
      problems.push(`import "${name}" is a ${imp.kind}; Envoy links only functions`);
      continue;
    }
    const want = provided.get(name);
    if (!want) {
      problems.push(`import "${name}" is not provided by Envoy (proxy-wasm ABI 0.2.1)`);
    } else if (!imp.sig || !sameSig(imp.sig, want)) {
      problems.push(
        `import "${name}" has signature ${imp.sig ? sigToString(imp.sig) : "?"} but Envoy provides ${sigToString(want)}`,
      );
    }
  }
  const versions = info.exports.filter((e) => e.name in ABI_VERSION_EXPORTS).map((e) => e.name);
  if (versions.length === 0) problems.push("missing or unknown proxy-wasm ABI version (export proxy_abi_version_0_2_1)");
  else if (!versions.includes("proxy_abi_version_0_2_1")) {
    problems.push(`proxy-wasm ABI ${versions.join(", ")} is not supported by this host (0.2.1 only)`);
  }
  if (!info.exports.some((e) => e.name === "memory" && e.kind === "memory")) {
    problems.push('the module does not export its memory as "memory"');
  }
  if (!info.exports.some((e) => (e.name === "malloc" || e.name === "proxy_on_memory_allocate") && e.kind === "function")) {
    problems.push("the module is missing malloc / proxy_on_memory_allocate");
  }
  for (const e of info.exports) {
    const want = MODULE_CALLBACKS[e.name];
    if (!want) continue;
    if (e.kind !== "function" || !e.sig || !sameSig(e.sig, want)) {
      problems.push(`bad function signature for export "${e.name}": ${e.sig ? sigToString(e.sig) : e.kind}, Envoy calls ${sigToString(want)}`);
    }
  }
  return problems;
}
