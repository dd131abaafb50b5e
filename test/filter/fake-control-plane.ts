// A fake control plane for tests that need to send arbitrary bytes on the
// config stream (malformed or fuzzed snapshots): a real grpc-js server whose
// StreamConfig handler passes raw message bytes both ways. It plays the
// network peer only; the filter under test is the real one.
import * as grpc from "@grpc/grpc-js";
import { hfiGrpc } from "../../proto/loader.ts";
import type { ConfigSnapshot, StreamConfigRequestOut } from "../../proto/loader.ts";
import { waitFor } from "../support/server.ts";

const identity = (b: Buffer) => b;
const method = hfiGrpc().ConfigDiscoveryService.service.StreamConfig;

/** Encode a ConfigSnapshot exactly as the real server's serializer does. */
export function encodeSnapshot(s: ConfigSnapshot): Buffer {
  return method.responseSerialize(s as never);
}

export function decodeRequest(b: Buffer): StreamConfigRequestOut {
  return method.requestDeserialize(b) as StreamConfigRequestOut;
}

export class FakeControlPlane {
  readonly requests: StreamConfigRequestOut[] = [];
  /** Raw request bytes that did not decode. */
  readonly undecodable: Buffer[] = [];
  streams = 0;
  private call: grpc.ServerDuplexStream<Buffer, Buffer> | undefined;

  private constructor(
    private readonly server: grpc.Server,
    readonly address: string,
  ) {}

  static async start(): Promise<FakeControlPlane> {
    const server = new grpc.Server();
    let fake: FakeControlPlane | undefined;
    server.addService(
      {
        StreamConfig: {
          path: method.path,
          requestStream: true,
          responseStream: true,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      },
      {
        StreamConfig: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
          fake!.streams++;
          fake!.call = call;
          call.on("data", (b: Buffer) => {
            try {
              fake!.requests.push(decodeRequest(b));
            } catch {
              fake!.undecodable.push(b);
            }
          });
          call.on("error", () => {});
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    fake = new FakeControlPlane(server, `127.0.0.1:${port}`);
    return fake;
  }

  async waitStream(): Promise<void> {
    await waitFor(() => this.call && this.requests.length > 0, "filter subscribe on the fake control plane");
  }

  /**
   * Send raw bytes as one message and wait for the filter's answer (ACK or NACK). A `serving`
   * note (the VM saw its first request) may come at any time and is not an answer: skipped.
   */
  async exchange(bytes: Uint8Array, timeoutMs = 5000): Promise<StreamConfigRequestOut> {
    const before = this.requests.length;
    this.call!.write(Buffer.from(bytes));
    return waitFor(() => this.requests.slice(before).find((r) => !r.serving), "ACK/NACK from the filter", timeoutMs);
  }

  /** End the current stream with a status (the filter should reconnect). */
  endStream(code = grpc.status.UNAVAILABLE, details = "fake restart"): void {
    // grpc-js turns an emitted error into the stream's status.
    this.call?.emit("error", { code, details });
    this.call = undefined;
  }

  close(): Promise<void> {
    this.server.forceShutdown();
    return Promise.resolve();
  }
}
