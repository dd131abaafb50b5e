// The typed client's gRPC transport (cli/client/wire.ts) against HTTP/2 peers
// that misbehave in the ways the protocol allows or a broken proxy would: a
// trailers-only error with a percent-encoded message and field-error
// metadata, an HTTP error status, a non-gRPC content type, a compressed or
// oversized message, a stream that ends without a status, a server that never
// answers (deadline). The well-behaved peer is the real server (client.test.ts
// and the CLI suites).
import { test } from "uvu";
import * as assert from "uvu/assert";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { createPolicyClient, HfiClientError, MAX_MESSAGE_BYTES } from "hfi/client";

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

async function withPeer(handler: Handler, fn: (address: string, seen: http2.IncomingHttpHeaders[]) => Promise<void>): Promise<void> {
  const seen: http2.IncomingHttpHeaders[] = [];
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    seen.push(headers);
    stream.on("error", () => {});
    handler(stream, headers);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    await fn(`127.0.0.1:${(server.address() as AddressInfo).port}`, seen);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

async function failure(p: Promise<unknown>): Promise<HfiClientError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, HfiClientError);
    return err as HfiClientError;
  }
  throw new Error("expected the call to fail");
}

const frame = (body: Buffer, compressed = 0) => {
  const head = Buffer.alloc(5);
  head[0] = compressed;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
};

test("trailers-only error: code, percent-decoded message, field errors from metadata; request headers", async () => {
  await withPeer(
    (stream) =>
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-status": "3",
          "grpc-message": encodeURIComponent("spec.rules[0]: bad ✓"),
          "hfi-field-errors": JSON.stringify([{ path: "spec.rules[0].fault", reason: "needs one kind" }]),
        },
        { endStream: true },
      ),
    async (address, seen) => {
      const client = createPolicyClient({ server: address, token: "s3cret", timeoutMs: 5000 });
      const err = await failure(client.getPolicy("x"));
      client.close();
      assert.is(err.code, "INVALID_ARGUMENT");
      assert.is(err.message, "spec.rules[0]: bad ✓");
      assert.equal(err.fieldErrors, [{ path: "spec.rules[0].fault", reason: "needs one kind" }]);
      const h = seen[0]!;
      assert.is(h[":path"], "/hfi.v1.PolicyService/GetPolicy");
      assert.is(h["content-type"], "application/grpc");
      assert.is(h.te, "trailers");
      assert.is(h.authorization, "Bearer s3cret");
      assert.is(h["grpc-timeout"], "5000m");
    },
  );
});

test("an HTTP error status maps to its gRPC code; a non-gRPC content type is UNKNOWN", async () => {
  await withPeer(
    (stream, h) => {
      if (h[":path"]!.endsWith("GetPolicy")) stream.respond({ ":status": 503 }, { endStream: true });
      else stream.respond({ ":status": 200, "content-type": "text/html" }, { endStream: true });
    },
    async (address) => {
      const client = createPolicyClient({ server: address, timeoutMs: 5000 });
      const unavailable = await failure(client.getPolicy("x"));
      assert.is(unavailable.code, "UNAVAILABLE");
      assert.match(unavailable.message, /Received HTTP status code 503/);
      const unknown = await failure(client.getPolicyStatus());
      assert.is(unknown.code, "UNKNOWN");
      assert.match(unknown.message, /unexpected content-type: text\/html/);
      client.close();
    },
  );
});

test("a compressed message (none negotiated) and a message over the limit are errors", async () => {
  await withPeer(
    (stream, h) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      if (h[":path"]!.endsWith("GetPolicy")) stream.end(frame(Buffer.from([1, 2, 3]), 1));
      else {
        const head = Buffer.alloc(5);
        head.writeUInt32BE(MAX_MESSAGE_BYTES + 1, 1);
        stream.end(head);
      }
    },
    async (address) => {
      const client = createPolicyClient({ server: address, timeoutMs: 5000 });
      const compressed = await failure(client.getPolicy("x"));
      assert.is(compressed.code, "INTERNAL");
      assert.match(compressed.message, /compressed/);
      const big = await failure(client.getPolicyStatus());
      assert.is(big.code, "RESOURCE_EXHAUSTED");
      assert.match(big.message, new RegExp(`larger than max \\(${MAX_MESSAGE_BYTES + 1} vs\\. ${MAX_MESSAGE_BYTES}\\)`));
      client.close();
    },
  );
});

test("a stream that ends without a status, and one reset by the peer, are UNAVAILABLE", async () => {
  await withPeer(
    (stream, h) => {
      if (h[":path"]!.endsWith("GetPolicy")) {
        stream.respond({ ":status": 200, "content-type": "application/grpc" });
        stream.end();
      } else stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    },
    async (address) => {
      const client = createPolicyClient({ server: address, timeoutMs: 5000 });
      const ended = await failure(client.getPolicy("x"));
      assert.is(ended.code, "UNAVAILABLE");
      assert.match(ended.message, /ended the stream without a gRPC status/);
      const reset = await failure(client.getPolicyStatus());
      assert.is(reset.code, "UNAVAILABLE");
      assert.match(reset.message, /RST_STREAM with code 2/);
      client.close();
    },
  );
});

test("a server that never answers: DEADLINE_EXCEEDED after the client's timeout", async () => {
  await withPeer(
    () => {},
    async (address) => {
      const client = createPolicyClient({ server: address, timeoutMs: 200 });
      const err = await failure(client.listPolicies());
      assert.is(err.code, "DEADLINE_EXCEEDED");
      assert.is(err.message, `the HFI server at ${address} did not answer within 200 ms (raise --timeout or check the server)`);
      client.close();
    },
  );
});

test("a unary reply without a message is an error, not an empty object", async () => {
  await withPeer(
    (stream) => stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "0" }, { endStream: true }),
    async (address) => {
      const client = createPolicyClient({ server: address, timeoutMs: 5000 });
      const err = await failure(client.getPolicy("x"));
      assert.is(err.code, "UNIMPLEMENTED");
      assert.match(err.message, /no response message/);
      client.close();
    },
  );
});

test.run();
