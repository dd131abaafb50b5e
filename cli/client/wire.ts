// gRPC over node:http2 for the typed client: unary calls and server streams
// (WatchPolicies), plaintext, with the bearer token as `authorization`.
//
// Why not @grpc/grpc-js (which the server uses): loading and setting up
// grpc-js (channels, resolvers, load balancers, its 275 KB of code) was about
// half of a cold `hfi policy list` (docs/benchmarks.md, cold start), and the
// client needs none of it: one HTTP/2 connection per address, length-prefixed
// messages, the status in the trailers. What it implements of the protocol
// (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
//   - request headers: POST, content-type application/grpc, te: trailers,
//     grpc-timeout for a deadline; messages uncompressed (none is negotiated);
//   - responses: grpc-status / grpc-message (percent-decoded) and custom
//     metadata from the trailers, or from the headers of a trailers-only
//     response; an HTTP status other than 200 mapped to a gRPC code as the
//     spec says; a compressed message, a message over MAX_MESSAGE_BYTES or a
//     stream that ends without a status are errors, not hangs;
//   - a deadline runs on the client too (DEADLINE_EXCEEDED), and a call that
//     never reached an HTTP/2 peer is marked `unreached` (the client's
//     failover and its "cannot reach" message key on that).
import http2 from "node:http2";
import { EventEmitter } from "node:events";
import { deserialize, methodInfo, serialize, type PolicyServiceMethod } from "../../proto/codecs.ts";
import { STATUS } from "./status.ts";

/** Largest response message accepted (as grpc-js's default receive limit). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Trailer metadata of a failed call: values by lower-case key ("-bin" keys decoded). */
export interface CallMetadata {
  get(key: string): (string | Buffer)[];
}

/** A failed call, shaped as grpc-js's ServiceError (code, details, metadata). */
export class CallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    readonly metadata: CallMetadata = emptyMetadata,
    /** No HTTP/2 connection to the address was made: the request never got there. */
    readonly unreached = false,
  ) {
    super(`${code} ${STATUS[code] ?? "UNKNOWN"}: ${details}`);
  }
}

const emptyMetadata: CallMetadata = { get: () => [] };

function metadataOf(headers: http2.IncomingHttpHeaders): CallMetadata {
  return {
    get(key) {
      const v = headers[key.toLowerCase()];
      const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
      return key.endsWith("-bin") ? list.map((s) => Buffer.from(s, "base64")) : list;
    },
  };
}

// https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md
function codeForHttpStatus(status: number): number {
  switch (status) {
    case 400:
      return STATUS.INTERNAL;
    case 401:
      return STATUS.UNAUTHENTICATED;
    case 403:
      return STATUS.PERMISSION_DENIED;
    case 404:
      return STATUS.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return STATUS.UNAVAILABLE;
    default:
      return STATUS.UNKNOWN;
  }
}

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Splits the length-prefixed messages out of the response bytes as they arrive. */
class Deframer {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.buf.length >= 5) {
      if (this.buf[0] !== 0) throw new CallError(STATUS.INTERNAL, "received a compressed message, but no compression was negotiated");
      const len = this.buf.readUInt32BE(1);
      if (len > MAX_MESSAGE_BYTES) throw new CallError(STATUS.RESOURCE_EXHAUSTED, `Received message larger than max (${len} vs. ${MAX_MESSAGE_BYTES})`);
      if (this.buf.length < 5 + len) break;
      out.push(this.buf.subarray(5, 5 + len));
      this.buf = this.buf.subarray(5 + len);
    }
    return out;
  }
  get pending(): number {
    return this.buf.length;
  }
}

function frame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** A server stream: "metadata" (response headers), "data" (each message), then "end" or "error" (CallError). */
export interface ServerStream<T> {
  on(event: "metadata", fn: () => void): this;
  on(event: "data", fn: (message: T) => void): this;
  on(event: "error", fn: (err: CallError) => void): this;
  on(event: "end", fn: () => void): this;
  /** Ends the call (the stream then emits error CANCELLED). */
  cancel(): void;
}

/** One HTTP/2 connection to a control-plane address, made on the first call and kept until close(). */
export class Connection {
  private session: http2.ClientHttp2Session | undefined;
  /** The peer's SETTINGS arrived: an HTTP/2 server answered. */
  private reached = false;
  private active = 0;
  /** Why the current session failed (ECONNREFUSED, ENOTFOUND, ...). */
  private failure: Error | undefined;

  constructor(
    readonly address: string,
    private readonly token: string | undefined,
  ) {}

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    this.reached = false;
    this.failure = undefined;
    const s = http2.connect(`http://${this.address}`);
    s.once("remoteSettings", () => {
      if (this.session === s) this.reached = true;
    });
    // Failures reach each call through its stream's close; a session with no call has nothing to report.
    s.on("error", (err) => {
      if (this.session === s) this.failure = err;
    });
    s.once("close", () => {
      if (this.session === s) this.session = undefined;
    });
    this.session = s;
    return s;
  }

  /** Starts a call; `onMessage` gets each response message, `onDone` the outcome once. */
  private start(
    method: PolicyServiceMethod,
    request: object,
    timeoutMs: number | undefined,
    handlers: { onHeaders?: () => void; onMessage(bytes: Buffer): void; onDone(err: CallError | undefined): void },
  ): { cancel(): void } {
    const info = methodInfo(method);
    let body: Buffer;
    try {
      body = frame(serialize(info.requestType, request));
    } catch (err) {
      queueMicrotask(() => handlers.onDone(new CallError(STATUS.INTERNAL, `request serialization failure: ${(err as Error).message}`)));
      return { cancel() {} };
    }
    const session = this.connect();
    if (this.active++ === 0) session.ref();
    const headers: http2.OutgoingHttpHeaders = {
      ":method": "POST",
      ":path": info.path,
      "content-type": "application/grpc",
      te: "trailers",
      "user-agent": "hfi-client",
    };
    if (timeoutMs !== undefined) headers["grpc-timeout"] = `${Math.max(1, Math.ceil(timeoutMs))}m`;
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const stream = session.request(headers);
    const deframer = new Deframer();
    let status: CallError | null | undefined; // null: OK
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: CallError | undefined) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (--this.active === 0 && !session.destroyed) session.unref();
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      handlers.onDone(err);
    };
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        finish(
          this.reached
            ? new CallError(STATUS.DEADLINE_EXCEEDED, `Deadline exceeded after ${timeoutMs} ms`)
            : new CallError(STATUS.DEADLINE_EXCEEDED, `Deadline exceeded while waiting for a connection to ${this.address}`, emptyMetadata, true),
        );
      }, timeoutMs);
    }
    const statusFrom = (h: http2.IncomingHttpHeaders): CallError | null | undefined => {
      const raw = h["grpc-status"];
      if (raw === undefined) return undefined;
      const code = Number(raw);
      if (code === STATUS.OK) return null;
      const message = typeof h["grpc-message"] === "string" ? percentDecode(h["grpc-message"]) : "";
      return new CallError(Number.isInteger(code) ? code : STATUS.UNKNOWN, message, metadataOf(h));
    };
    stream.on("response", (h) => {
      const http = Number(h[":status"]);
      if (http !== 200) {
        status = new CallError(codeForHttpStatus(http), `Received HTTP status code ${http}`, metadataOf(h));
        return;
      }
      const type = String(h["content-type"] ?? "");
      if (!type.startsWith("application/grpc")) {
        status = new CallError(STATUS.UNKNOWN, `Received unexpected content-type: ${type || "(none)"}`, metadataOf(h));
        return;
      }
      status = statusFrom(h); // a trailers-only response
      if (status === undefined) handlers.onHeaders?.();
    });
    stream.on("data", (chunk: Buffer) => {
      if (done || status !== undefined) return;
      try {
        for (const m of deframer.push(chunk)) handlers.onMessage(m);
      } catch (err) {
        finish(err instanceof CallError ? err : new CallError(STATUS.INTERNAL, `Failed to parse server response: ${(err as Error).message}`));
      }
    });
    stream.on("trailers", (h) => {
      if (status === undefined) status = statusFrom(h);
    });
    let streamError: Error | undefined;
    stream.on("error", (err) => (streamError = err)); // the outcome is decided on close
    stream.on("close", () => {
      if (status === null) {
        finish(deframer.pending ? new CallError(STATUS.INTERNAL, "the response ended inside a message") : undefined);
      } else if (status) {
        finish(status);
      } else if (!this.reached) {
        // The stream is cancelled because the session failed: its cause is the reason (ECONNREFUSED, ENOTFOUND).
        const cause = this.failure ?? ((streamError as { cause?: Error } | undefined)?.cause ?? streamError);
        finish(new CallError(STATUS.UNAVAILABLE, cause?.message ?? `Connection to ${this.address} closed before an HTTP/2 server answered`, emptyMetadata, true));
      } else {
        const rst = stream.rstCode;
        finish(
          new CallError(
            STATUS.UNAVAILABLE,
            rst && rst !== http2.constants.NGHTTP2_NO_ERROR ? `Received RST_STREAM with code ${rst}` : "the server ended the stream without a gRPC status",
          ),
        );
      }
    });
    stream.end(body);
    return { cancel: () => finish(new CallError(STATUS.CANCELLED, "Cancelled on client")) };
  }

  unary<Res>(method: PolicyServiceMethod, request: object, timeoutMs: number): Promise<Res> {
    const info = methodInfo(method);
    return new Promise((resolve, reject) => {
      let reply: Buffer | undefined;
      let extra = false;
      this.start(method, request, timeoutMs, {
        onMessage: (m) => {
          if (reply) extra = true;
          reply = m;
        },
        onDone: (err) => {
          if (err) return reject(err);
          if (!reply || extra) return reject(new CallError(STATUS.UNIMPLEMENTED, `${reply ? "more than one" : "no"} response message for unary ${info.path}`));
          try {
            resolve(deserialize<Res>(info.responseType, reply));
          } catch (e) {
            reject(new CallError(STATUS.INTERNAL, `Failed to parse server response: ${(e as Error).message}`));
          }
        },
      });
    });
  }

  /** A server-streaming call without a deadline. */
  serverStream<Res>(method: PolicyServiceMethod, request: object): ServerStream<Res> {
    const info = methodInfo(method);
    const events = new EventEmitter();
    let broken: CallError | undefined;
    const call = this.start(method, request, undefined, {
      onHeaders: () => events.emit("metadata"),
      onMessage: (m) => {
        if (broken) return;
        let msg: Res;
        try {
          msg = deserialize<Res>(info.responseType, m);
        } catch (e) {
          broken = new CallError(STATUS.INTERNAL, `Failed to parse server response: ${(e as Error).message}`);
          call.cancel();
          return;
        }
        events.emit("data", msg);
      },
      onDone: (err) => {
        const e = broken ?? err;
        if (e) events.emit("error", e);
        else events.emit("end");
      },
    });
    const stream = {
      on(event: string, fn: (...a: never[]) => void) {
        events.on(event, fn as (...a: unknown[]) => void);
        return stream;
      },
      cancel: () => call.cancel(),
    };
    return stream as unknown as ServerStream<Res>;
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}
