// What the host-function modules (header-maps.ts, buffers.ts, grpc-streams.ts,
// ...) see of the VM they serve: guest memory, the calling context, the way
// back into the guest, and Envoy's deferred after-VM-call actions.
import type { GuestMemory } from "./guest-memory.ts";
import type { HttpStream } from "./http-stream.ts";
import type { HostLogger } from "./logger.ts";
import type { VmOptions } from "./options.ts";

/** A proxy-wasm context: the root context (rootId === id) or a stream context. */
export interface Context {
  id: number;
  rootId: number;
  stream?: HttpStream;
}

// Host functions take the guest's i32/i64 arguments as numbers/bigints.
export type HostFunction = (...a: any[]) => number | void;
export type ImportTable = Record<string, HostFunction>;

export interface HostEnv {
  readonly mem: GuestMemory;
  readonly logger: HostLogger;
  readonly options: VmOptions;
  /** Envoy's contextOrEffectiveContext(). */
  context(): Context | undefined;
  /** Call a guest callback with Envoy's context bookkeeping; undefined if absent or it trapped. */
  callGuest(contextId: number, name: string, a?: number, b?: number, c?: number): number | undefined;
  /** Run after the current VM call returns (Envoy's after-VM-call actions). */
  defer(action: () => void): void;
}
