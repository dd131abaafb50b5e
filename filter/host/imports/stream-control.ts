// Host functions that act on an HTTP stream: proxy_send_local_response,
// proxy_continue_stream, proxy_close_stream. As in Envoy they act on the
// calling (or effective) context's stream only after the VM call returns.
import { performance } from "node:perf_hooks";
import { GRPC_STATUS_UNSET, StreamType, WasmResult as R } from "../abi.ts";
import { decodePairs } from "../pairs.ts";
import type { LocalResponse } from "../local-reply.ts";
import type { HostEnv, ImportTable } from "../host-env.ts";

export function streamControlImports(env: HostEnv): ImportTable {
  const { mem } = env;
  return {
    proxy_send_local_response: (
      code: number,
      detailsPtr: number,
      detailsSize: number,
      bodyPtr: number,
      bodySize: number,
      hdrPtr: number,
      hdrSize: number,
      grpcStatus: number,
    ) => {
      const s = env.context()?.stream;
      if (!s) return R.BadArgument;
      const details = mem.str(detailsPtr, detailsSize);
      const body = mem.view(bodyPtr, bodySize);
      const hb = mem.view(hdrPtr, hdrSize);
      if (details === undefined || !body || !hb) return R.InvalidMemoryAccess;
      // Malformed pairs count as none (cpp-host toPairs).
      const headers = decodePairs(hb) ?? [];
      const gs = grpcStatus >>> 0;
      const response: LocalResponse = {
        status: code >>> 0,
        headers: headers.map(([k, v]) => [k.toLowerCase(), v]),
        body: body.slice(),
        details,
        grpcStatus: gs === GRPC_STATUS_UNSET ? undefined : gs,
      };
      // Envoy defers the reply until the VM call returns.
      env.defer(() => {
        if (s.phase === "ended" || s.phase === "local") return;
        const wasResponse = s.phase === "response" || s.phase === "response_paused";
        s.phase = "local";
        s.localResponse = response;
        if (wasResponse) s.settleResponse({ kind: "local_response", response });
        else s.settle({ kind: "local_response", response });
      });
      return R.Ok;
    },

    proxy_continue_stream: (type: number) => {
      const s = env.context()?.stream;
      if (!s) return R.BadArgument;
      if (type !== StreamType.Request && type !== StreamType.Response) return R.BadArgument;
      env.defer(() => {
        if (type === StreamType.Request) {
          s.resumeRequest();
        } else if (type === StreamType.Response && s.phase !== "response_paused") {
          s.response.resume(); // a body the filter held (StopIteration* from proxy_on_response_body)
        } else if (type === StreamType.Response && s.phase === "response_paused") {
          s.phase = "response";
          if (s.pausedAt) {
            s.pausedMs += performance.now() - s.pausedAt;
            s.pausedAt = 0;
          }
          s.settleResponse({ kind: "continued", status: s.status, headers: s.responseHeaders ?? [] });
        }
      });
      return R.Ok;
    },

    proxy_close_stream: (type: number) => {
      const s = env.context()?.stream;
      if (!s) return R.BadArgument;
      if (type !== StreamType.Request && type !== StreamType.Response) return R.BadArgument;
      // Envoy resets the stream.
      env.defer(() => s.finish());
      return R.Ok;
    },
  };
}
