// The response body of one stream going through proxy_on_response_body, as
// Envoy's wasm filter (Context::encodeData) and filter manager handle it:
// - each chunk is shown to the filter as buffer HttpResponseBody (1); the
//   body size argument is that buffer's length;
// - Continue passes the buffer (as the filter may have rewritten it with
//   proxy_set_buffer_bytes) downstream;
// - StopIterationAndBuffer keeps it, and the next chunk is appended to the
//   buffered body (addEncodedData) and the filter then sees the whole buffered
//   body; StopIterationAndWatermark keeps it too, but the filter then sees only
//   the new chunk (Envoy sets buffering_response_body_ only for ...AndBuffer);
//   StopIterationNoBuffer drops the chunk;
// - proxy_continue_stream(Response) releases what is buffered;
// - more than the buffer limit buffered resets the stream (headers are
//   already downstream, so no 413/500 reply is possible).
import type { HttpStream } from "./http-stream.ts";
import { FilterDataStatus } from "./abi.ts";
import { joinBytes } from "./bytes.ts";

const EMPTY = new Uint8Array(0);

/** Envoy's default per_connection_buffer_limit_bytes (1 MiB). */
export const RESPONSE_BUFFER_LIMIT = 1024 * 1024;

/** The buffer a body callback works on; proxy_set_buffer_bytes rewrites `bytes`. */
export interface MutableBuffer {
  bytes: Uint8Array;
}

/**
 * Envoy's Buffer::copyFrom for a body buffer: start 0 drains `length` bytes
 * and prepends data; start at or past the end appends; anything else is
 * refused (false: BadArgument).
 */
export function copyIntoBuffer(buf: MutableBuffer, start: number, length: number, data: Uint8Array): boolean {
  const b = buf.bytes;
  if (start === 0) {
    buf.bytes = joinBytes([data, b.subarray(Math.min(length, b.length))]);
    return true;
  }
  if (start >= b.length) {
    buf.bytes = joinBytes([b, data]);
    return true;
  }
  return false;
}

export class ResponseBody {
  /** Where released bytes go (end = the last bytes of the body). */
  sink: ((data: Uint8Array, end: boolean) => void) | undefined;
  /** Called when the buffer limit resets the stream. */
  onReset: (() => void) | undefined;
  /** @internal The buffer proxy_on_response_body works on (only during that call, or while buffered). */
  inCallback: MutableBuffer | undefined;
  limit = RESPONSE_BUFFER_LIMIT;
  ended = false;
  private buffered: MutableBuffer | undefined;
  /** The last call returned StopIterationAndBuffer: the next one sees the whole buffered body. */
  private buffering = false;
  private stopped = false;
  private sawEnd = false;

  constructor(
    private readonly stream: HttpStream,
    private readonly call: (size: number, endOfStream: boolean) => number,
  ) {}

  /** A body chunk arrives (from upstream or a local reply). */
  push(chunk: Uint8Array, endOfStream: boolean): void {
    if (this.ended || this.stream.phase === "ended") return;
    this.sawEnd ||= endOfStream;
    let view: MutableBuffer = { bytes: chunk };
    if (this.buffering && this.buffered) {
      // Envoy addEncodedData: the chunk joins the buffered body, which the filter then sees whole.
      this.buffered.bytes = joinBytes([this.buffered.bytes, chunk]);
      if (this.overLimit()) return;
      view = this.buffered;
    }
    this.inCallback = view;
    let r: number;
    try {
      r = this.call(view.bytes.length, endOfStream);
    } finally {
      this.inCallback = undefined;
    }
    if (this.ended || (this.stream.phase as string) === "ended") return;
    const alone = view !== this.buffered;
    if (r === FilterDataStatus.StopIterationNoBuffer) {
      // The chunk is not kept (the filter said it took what it needed).
      this.buffering = false;
      this.stopped = true;
      return;
    }
    if (alone) {
      if (this.buffered) {
        this.buffered.bytes = joinBytes([this.buffered.bytes, view.bytes]);
        if (this.overLimit()) return;
      } else if (r !== FilterDataStatus.Continue) {
        this.buffered = view;
      }
    }
    if (r === FilterDataStatus.StopIterationAndBuffer || r === FilterDataStatus.StopIterationAndWatermark) {
      this.buffering = r === FilterDataStatus.StopIterationAndBuffer;
      this.stopped = true;
      if (this.overLimit()) return;
      return;
    }
    this.release(this.buffered ?? view);
  }

  private overLimit(): boolean {
    if (!this.buffered || this.buffered.bytes.length <= this.limit) return false;
    this.reset();
    return true;
  }

  /** proxy_continue_stream(Response): what the filter holds goes on. */
  resume(): void {
    if (!this.stopped || this.ended) return;
    this.release(this.buffered ?? { bytes: EMPTY });
  }

  /** @internal proxy_get_buffer_* / proxy_set_buffer_bytes on HttpResponseBody: the callback's buffer, or the buffered body. */
  get buffer(): MutableBuffer | undefined {
    return this.inCallback ?? (this.buffering ? this.buffered : undefined);
  }

  private release(buf: MutableBuffer): void {
    this.buffered = undefined;
    this.buffering = false;
    this.stopped = false;
    this.inCallback = undefined;
    const end = this.sawEnd;
    if (end) this.ended = true;
    if (buf.bytes.length > 0 || end) this.sink?.(buf.bytes, end);
  }

  private reset(): void {
    if (this.ended) return;
    this.ended = true;
    this.buffered = undefined;
    this.inCallback = undefined;
    this.onReset?.();
    this.stream.finish();
  }
}
