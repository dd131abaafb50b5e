// Header-map host functions (proxy_*_header_map_*): the calling stream's
// request/response headers and trailers, and the metadata of the gRPC
// callback in progress, in Envoy's pairs format with lower-case names.
import { HeaderMapType, WasmResult as R } from "../abi.ts";
import { decodePairs, type HeaderPair } from "../pairs.ts";
import { getHeader } from "../headers.ts";
import type { HostEnv, ImportTable } from "../host-env.ts";

const enc = new TextEncoder();

/** gRPC metadata readable as header maps 4/5 during the matching callback. */
export interface GrpcMetadataSource {
  readonly initialMetadata: HeaderPair[] | undefined;
  readonly trailingMetadata: HeaderPair[] | undefined;
}

export function headerMapImports(env: HostEnv, grpc: GrpcMetadataSource): ImportTable {
  const { mem } = env;

  const headerMap = (type: number): HeaderPair[] | undefined => {
    const s = env.context()?.stream;
    switch (type) {
      case HeaderMapType.RequestHeaders:
        return s?.requestHeaders;
      case HeaderMapType.RequestTrailers:
        return s?.requestTrailers;
      case HeaderMapType.ResponseHeaders:
        return s?.responseHeaders;
      case HeaderMapType.ResponseTrailers:
        return s?.responseTrailers;
      case HeaderMapType.GrpcReceiveInitialMetadata:
        return grpc.initialMetadata;
      case HeaderMapType.GrpcReceiveTrailingMetadata:
        return grpc.trailingMetadata;
      default:
        return undefined;
    }
  };

  const setHeaderMap = (type: number, pairs: HeaderPair[]): boolean => {
    const s = env.context()?.stream;
    if (!s) return false;
    switch (type) {
      case HeaderMapType.RequestHeaders:
        s.requestHeaders = pairs;
        return true;
      case HeaderMapType.RequestTrailers:
        s.requestTrailers = pairs;
        return true;
      case HeaderMapType.ResponseHeaders:
        if (!s.responseHeaders) return false;
        s.responseHeaders = pairs;
        return true;
      case HeaderMapType.ResponseTrailers:
        s.responseTrailers = pairs;
        return true;
      default:
        return false;
    }
  };

  const mutate = (type: number, fn: (m: HeaderPair[]) => HeaderPair[]): number => {
    const m = headerMap(type);
    if (!m || type > HeaderMapType.ResponseTrailers) return R.BadArgument;
    return setHeaderMap(type, fn(m)) ? R.Ok : R.BadArgument;
  };

  return {
    proxy_get_header_map_pairs: (type: number, ptrPtr: number, sizePtr: number) => {
      const m = headerMap(type);
      if (!m) return R.BadArgument;
      return mem.copyPairsOut(m, ptrPtr, sizePtr);
    },
    proxy_set_header_map_pairs: (type: number, ptr: number, size: number) => {
      const b = mem.view(ptr, size);
      if (!b) return R.InvalidMemoryAccess;
      const pairs = decodePairs(b) ?? [];
      return setHeaderMap(type, pairs.map(([k, v]) => [k.toLowerCase(), v])) ? R.Ok : R.BadArgument;
    },
    proxy_get_header_map_size: (type: number, resultPtr: number) => {
      const m = headerMap(type);
      if (!m) return R.BadArgument;
      let size = 0;
      for (const [k, v] of m) size += Buffer.byteLength(k) + Buffer.byteLength(v);
      return mem.setU32(resultPtr, size) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_get_header_map_value: (type: number, kp: number, ks: number, vpp: number, vsp: number) => {
      const m = headerMap(type);
      if (!m) return R.BadArgument;
      const key = mem.str(kp, ks);
      if (key === undefined) return R.InvalidMemoryAccess;
      const v = getHeader(m, key.toLowerCase());
      if (v === undefined) return R.NotFound;
      return mem.copyOut(enc.encode(v), vpp, vsp);
    },
    proxy_add_header_map_value: (type: number, kp: number, ks: number, vp: number, vs: number) => {
      const k = mem.str(kp, ks);
      const v = mem.str(vp, vs);
      if (k === undefined || v === undefined) return R.InvalidMemoryAccess;
      return mutate(type, (m) => [...m, [k.toLowerCase(), v]]);
    },
    proxy_replace_header_map_value: (type: number, kp: number, ks: number, vp: number, vs: number) => {
      const k = mem.str(kp, ks);
      const v = mem.str(vp, vs);
      if (k === undefined || v === undefined) return R.InvalidMemoryAccess;
      const key = k.toLowerCase();
      return mutate(type, (m) => {
        const i = m.findIndex(([n]) => n === key);
        if (i < 0) return [...m, [key, v]];
        return m.filter(([n], j) => n !== key || j === i).map((p, j) => (j === i ? [key, v] : p)) as HeaderPair[];
      });
    },
    proxy_remove_header_map_value: (type: number, kp: number, ks: number) => {
      const k = mem.str(kp, ks);
      if (k === undefined) return R.InvalidMemoryAccess;
      const key = k.toLowerCase();
      return mutate(type, (m) => m.filter(([n]) => n !== key));
    },
  };
}
