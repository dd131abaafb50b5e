// Buffer and property host functions: the configuration buffers (6, 7), the
// gRPC receive buffer (5, during proxy_on_grpc_receive), and proxy_get/
// set_property over the node/plugin properties and the calling stream's
// request/response attributes.
import { BufferType, WasmResult as R } from "../abi.ts";
import { getHeader } from "../headers.ts";
import type { HttpStream } from "../http-stream.ts";
import type { HostEnv, ImportTable } from "../host-env.ts";
import { lookupPath, serializeProperty, splitPath, type PropertyValue } from "../properties.ts";
import { copyIntoBuffer } from "../response-body.ts";

export interface BufferSource {
  readonly pluginConfig: Uint8Array;
  readonly vmConfig: Uint8Array;
  readonly grpcReceiveBuffer: () => Uint8Array | undefined;
}

export function bufferImports(env: HostEnv, src: BufferSource): ImportTable {
  const { mem } = env;
  const buffer = (type: number): Uint8Array | undefined => {
    switch (type) {
      case BufferType.PluginConfiguration:
        return src.pluginConfig;
      case BufferType.VmConfiguration:
        return src.vmConfig;
      case BufferType.GrpcReceiveBuffer:
        return src.grpcReceiveBuffer();
      case BufferType.HttpRequestBody:
        // Only during proxy_on_request_body (Envoy: the buffered body of the calling stream).
        return env.context()?.stream?.bodyInCallback;
      case BufferType.HttpResponseBody:
        // The chunk proxy_on_response_body is looking at, or the body it buffers (StopIterationAndBuffer).
        return env.context()?.stream?.response.buffer?.bytes;
      default:
        return undefined;
    }
  };
  return {
    proxy_get_buffer_status: (type: number, lengthPtr: number, flagsPtr: number) => {
      const b = buffer(type);
      if (!b) return R.NotFound;
      if (!mem.setU32(lengthPtr, b.length) || !mem.setU32(flagsPtr, 0)) return R.InvalidMemoryAccess;
      return R.Ok;
    },
    proxy_get_buffer_bytes: (type: number, start: number, length: number, ptrPtr: number, sizePtr: number) => {
      const b = buffer(type);
      if (!b) return R.NotFound;
      start >>>= 0;
      length >>>= 0;
      if (start + length > 0xffffffff) return R.BadArgument;
      if (start > b.length) start = b.length;
      if (start + length > b.length) length = b.length - start;
      if (length === 0) {
        // Envoy leaves the out-params untouched for an empty read; write nulls for safety.
        return mem.setU32(ptrPtr, 0) && mem.setU32(sizePtr, 0) ? R.Ok : R.InvalidMemoryAccess;
      }
      return mem.copyOut(b.subarray(start, start + length), ptrPtr, sizePtr);
    },
    proxy_set_buffer_bytes: (type: number, start: number, length: number, dataPtr: number, dataSize: number) => {
      // Only the response body is writable here (the request body is read-only in this host).
      if (type !== BufferType.HttpResponseBody) return R.BadArgument;
      const buf = env.context()?.stream?.response.buffer;
      if (!buf) return R.NotFound;
      const data = mem.view(dataPtr, dataSize);
      if (!data) return R.InvalidMemoryAccess;
      return copyIntoBuffer(buf, start >>> 0, length >>> 0, data.slice()) ? R.Ok : R.BadArgument;
    },
  };
}

/** `properties`: the VM's top-level properties (node, plugin_*, options.properties); set_property writes here. */
export function propertyImports(env: HostEnv, properties: Record<string, PropertyValue>): ImportTable {
  const { mem } = env;
  const property = (tokens: string[]): PropertyValue => {
    if (tokens.length === 0) return undefined;
    const [head, ...rest] = tokens;
    const s = env.context()?.stream;
    if (s && Object.prototype.hasOwnProperty.call(s.properties, head!)) return lookupPath(s.properties, tokens);
    if (head === "request" && s) return lookupPath(requestProperties(s), rest);
    if (head === "response" && s) return lookupPath(responseProperties(s), rest);
    if ((head === "connection" || head === "filter_state") && s) return lookupPath(s.peerProperties[head], rest);
    const joined = tokens.join(".");
    if (rest.length === 0 || !(head! in properties)) {
      if (joined in properties) return properties[joined];
    }
    return lookupPath(properties, tokens);
  };
  return {
    proxy_get_property: (pathPtr: number, pathSize: number, valuePtrPtr: number, valueSizePtr: number) => {
      const p = mem.view(pathPtr, pathSize);
      if (!p) return R.InvalidMemoryAccess;
      const value = property(splitPath(p));
      if (value === undefined) return R.NotFound;
      const bytes = serializeProperty(value);
      if (bytes === undefined) return R.SerializationFailure;
      return mem.copyOut(bytes, valuePtrPtr, valueSizePtr);
    },
    proxy_set_property: (kp: number, ks: number, vp: number, vs: number) => {
      const k = mem.view(kp, ks);
      const v = mem.view(vp, vs);
      if (!k || !v) return R.InvalidMemoryAccess;
      // Envoy stores these as filter state; we keep them per VM under their path.
      properties[splitPath(k).join(".")] = v.slice();
      return R.Ok;
    },
  };
}

function requestProperties(s: HttpStream): Record<string, PropertyValue> {
  const h = s.requestHeaders;
  const path = getHeader(h, ":path") ?? "";
  const q = path.indexOf("?");
  const headers: Record<string, string> = {};
  for (const [k, v] of h) if (!k.startsWith(":")) headers[k] = k in headers ? `${headers[k]},${v}` : v;
  return {
    path,
    url_path: q < 0 ? path : path.slice(0, q),
    query: q < 0 ? "" : path.slice(q + 1),
    host: getHeader(h, ":authority") ?? "",
    scheme: getHeader(h, ":scheme") ?? "",
    method: getHeader(h, ":method") ?? "",
    headers,
    id: getHeader(h, "x-request-id") ?? "",
    protocol: "HTTP/1.1",
  };
}

function responseProperties(s: HttpStream): Record<string, PropertyValue> | undefined {
  if (!s.responseHeaders) return undefined;
  const headers: Record<string, string> = {};
  for (const [k, v] of s.responseHeaders) if (!k.startsWith(":")) headers[k] = v;
  return { code: BigInt(Number(getHeader(s.responseHeaders, ":status") ?? 0)), headers };
}
