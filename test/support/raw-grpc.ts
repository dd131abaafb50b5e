// A gRPC call made with node:http2 directly, for what grpc-js clients cannot
// do: send bytes that are not a valid message, and connect from a chosen
// loopback source address (127.0.0.6, where Istio's sidecar connects from).
import http2 from "node:http2";
import net from "node:net";

export interface RawResult {
  /** grpc-status (from trailers, or trailers-only headers). */
  code: number | undefined;
  message: string;
  /** Response messages (payloads without the 5-byte prefix). */
  messages: Buffer[];
}

export interface RawOptions {
  headers?: Record<string, string>;
  /** Source address of the TCP connection. */
  localAddress?: string;
  /** Resolve once this many response messages arrived (the call is then cancelled). */
  untilMessages?: number;
  /** Keep the request open after the message (bidi streams). */
  keepOpen?: boolean;
  timeoutMs?: number;
}

export function frame(payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

export function rawCall(address: string, path: string, payload: Buffer, opts: RawOptions = {}): Promise<RawResult> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`, {
      createConnection: () => net.connect({ host, port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) }),
    });
    session.on("error", reject);
    const result: RawResult = { code: undefined, message: "", messages: [] };
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.close();
      resolve(result);
    };
    const timer = setTimeout(() => {
      done = true;
      session.destroy();
      reject(new Error(`${path}: no answer within ${opts.timeoutMs ?? 10_000} ms`));
    }, opts.timeoutMs ?? 10_000);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...opts.headers });
    const status = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] !== undefined) {
        result.code = Number(h["grpc-status"]);
        result.message = decodeURIComponent(String(h["grpc-message"] ?? ""));
      }
    };
    req.on("response", (h) => status(h));
    req.on("trailers", (h) => status(h));
    req.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        const len = buf.readUInt32BE(1);
        result.messages.push(buf.subarray(5, 5 + len));
        buf = buf.subarray(5 + len);
      }
      if (opts.untilMessages && result.messages.length >= opts.untilMessages) {
        req.close(http2.constants.NGHTTP2_CANCEL);
        finish();
      }
    });
    req.on("close", finish);
    req.on("error", () => finish());
    if (opts.keepOpen) req.write(frame(payload));
    else req.end(frame(payload));
  });
}
