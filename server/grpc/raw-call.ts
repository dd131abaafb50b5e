// A gRPC call served on a node:http2 stream directly: length-prefixed
// messages in, pre-framed messages out (written as they are, no copy), the
// status in trailers. Used for StreamConfig, where one frame is written to
// thousands of streams per change and grpc-js's per-message path (serialize,
// re-frame, copy, interceptors) costs more than the write itself.
import http2 from "node:http2";
import { status as grpcStatus } from "@grpc/grpc-js";
import { undecodableStatus } from "./undecodable.ts";

/** Largest request message accepted (grpc-js's default receive limit). */
export const MAX_REQUEST_MESSAGE_BYTES = 4 * 1024 * 1024;

const {
  HTTP2_HEADER_STATUS,
  HTTP2_HEADER_CONTENT_TYPE,
} = http2.constants;

export interface RawCallEvents<Req> {
  message(req: Req): void;
  /** The client half-closed. */
  end(): void;
  /** The stream is gone (any reason); runs once. */
  closed(): void;
}

/** One server-side gRPC call on an HTTP/2 stream. */
export class RawGrpcCall<Req> {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private responded = false;
  private finished = false;
  private trailers: { code: number; details: string } | undefined;

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    readonly headers: http2.IncomingHttpHeaders,
    private readonly deserialize: (b: Buffer) => Req,
    private readonly on: RawCallEvents<Req>,
  ) {
    // An error here always comes with a close; nothing to send on a broken stream.
    stream.on("error", () => {});
    stream.on("close", () => this.onClosed());
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    stream.on("end", () => {
      if (!this.finished) this.on.end();
    });
    stream.on("wantTrailers", () => {
      const t = this.trailers ?? { code: grpcStatus.OK, details: "" };
      stream.sendTrailers({ "grpc-status": String(t.code), "grpc-message": encodeURI(t.details) });
    });
  }

  /** Sends the response headers (before the first message). */
  respond(): void {
    if (this.responded || this.stream.destroyed) return;
    this.responded = true;
    this.stream.respond(
      { [HTTP2_HEADER_STATUS]: 200, [HTTP2_HEADER_CONTENT_TYPE]: "application/grpc+proto", "grpc-accept-encoding": "identity" },
      { waitForTrailers: true },
    );
  }

  metadata(name: string): string | undefined {
    const v = this.headers[name];
    return Array.isArray(v) ? v[0] : v;
  }

  write(frame: Buffer): boolean {
    if (this.finished || this.stream.destroyed) return true;
    this.respond();
    return this.stream.write(frame);
  }

  get writableNeedDrain(): boolean {
    return this.stream.writableNeedDrain;
  }

  get writableLength(): number {
    return this.stream.writableLength;
  }

  once(event: "drain", fn: () => void): this {
    this.stream.once(event, fn);
    return this;
  }

  /** Ends the call with a status (trailers-only when nothing was sent yet). */
  close(code: number, details: string): void {
    if (this.finished) return;
    this.finished = true;
    const s = this.stream;
    if (s.destroyed || s.closed) return;
    if (!this.responded && !s.headersSent) {
      this.responded = true;
      s.respond(
        {
          [HTTP2_HEADER_STATUS]: 200,
          [HTTP2_HEADER_CONTENT_TYPE]: "application/grpc+proto",
          "grpc-status": String(code),
          "grpc-message": encodeURI(details),
        },
        { endStream: true },
      );
    } else {
      this.trailers = { code, details };
      s.end();
    }
    // A peer that never reads may never let the trailers out: give it a moment, then reset.
    setTimeout(() => {
      if (!s.destroyed) s.close(http2.constants.NGHTTP2_CANCEL);
    }, 2000).unref();
  }

  private onClosed(): void {
    this.finished = true;
    this.buffered = [];
    this.on.closed();
  }

  private onData(chunk: Buffer): void {
    if (this.finished) return;
    // The common case (an ACK per chunk): one whole uncompressed message, nothing buffered.
    if (this.bufferedBytes === 0 && chunk.length >= 5 && chunk[0] === 0 && chunk.readUInt32BE(1) === chunk.length - 5) {
      this.deliver(chunk.subarray(5));
      return;
    }
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    while (this.bufferedBytes >= 5) {
      const head = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
      this.buffered = [head];
      const compressed = head[0]!;
      const length = head.readUInt32BE(1);
      if (compressed !== 0) return this.close(grpcStatus.UNIMPLEMENTED, "compressed messages are not supported on this method");
      if (length > MAX_REQUEST_MESSAGE_BYTES) {
        return this.close(grpcStatus.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs. ${MAX_REQUEST_MESSAGE_BYTES})`);
      }
      if (head.length < 5 + length) return;
      const body = head.subarray(5, 5 + length);
      const rest = head.subarray(5 + length);
      this.buffered = rest.length ? [rest] : [];
      this.bufferedBytes = rest.length;
      this.deliver(body);
      if (this.finished) return;
    }
  }

  /** Decodes one message body and hands it on (an undecodable one ends the call). */
  private deliver(body: Buffer): void {
    let req: Req;
    try {
      req = this.deserialize(body);
    } catch (err) {
      const st = undecodableStatus(String(this.headers[":path"]), (err as Error)?.message ?? String(err));
      return this.close(st.code, st.details);
    }
    this.on.message(req);
  }
}

/** True for gRPC requests (what grpc-js checks before dispatching). */
export function isGrpcRequest(headers: http2.IncomingHttpHeaders): boolean {
  const ct = headers[HTTP2_HEADER_CONTENT_TYPE];
  return typeof ct === "string" && ct.startsWith("application/grpc") && headers[":method"] === "POST";
}
