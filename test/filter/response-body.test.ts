// The host's response-body path against Envoy's Context::encodeData and
// filter-manager buffering, with tiny hand-assembled guests whose
// proxy_on_response_body returns one FilterDataStatus until end_of_stream and
// then rewrites the buffer it is shown (proxy_set_buffer_bytes(1, 0, size,
// "xy")) and continues:
//   StopIterationAndBuffer    -> later callbacks see the whole buffered body
//   StopIterationAndWatermark -> kept, but each callback sees only its chunk
//   StopIterationNoBuffer     -> the chunk is dropped
// and more than the buffer limit held resets the stream.
import { test } from "uvu";
import * as assert from "uvu/assert";
import pino from "pino";
import { WasmVm } from "../../filter/host/vm.ts";
import { copyIntoBuffer } from "../../filter/host/response-body.ts";
import { buildModule, minimalFuncs, sig, i32 } from "./wasm-builder.ts";

const logger = pino({ level: "silent" });
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A guest: proxy_on_response_body returns `mode` until end_of_stream, then replaces the buffer with "xy". */
function guest(mode: number): Uint8Array {
  const body = [
    0x20, 0x02, 0x04, 0x7f, // local.get eos; if (result i32)
    0x41, 0x00, 0x41, 0xf8, 0x00, 0x3a, 0x00, 0x00, // mem[0] = 'x' (i32.const is signed LEB128)
    0x41, 0x01, 0x41, 0xf9, 0x00, 0x3a, 0x00, 0x00, // mem[1] = 'y'
    0x41, 0x01, 0x41, 0x00, 0x20, 0x01, 0x41, 0x00, 0x41, 0x02, // (1 HttpResponseBody, 0, size, ptr 0, len 2)
    0x10, 0x00, 0x1a, // call proxy_set_buffer_bytes; drop
    0x41, 0x00, // Continue
    0x05, 0x41, mode, 0x0b, // else mode; end
  ];
  return buildModule({
    imports: [{ module: "env", name: "proxy_set_buffer_bytes", sig: sig([i32, i32, i32, i32, i32], [i32]) }],
    funcs: [...minimalFuncs(), { export: "proxy_on_response_body", sig: sig([i32, i32, i32], [i32]), body }],
  });
}

async function run(mode: number, chunks: string[], limit?: number) {
  const sizes: number[] = [];
  const vm = await WasmVm.load(guest(mode), {
    logger,
    onGuestCall: (name, args) => {
      if (name === "proxy_on_response_body") sizes.push(args[1]!);
    },
  });
  const s = vm.startStream([[":method", "GET"], [":path", "/"], [":authority", "x"]]);
  await s.onResponse(200, [], false);
  const out: string[] = [];
  let ended = false;
  let reset = false;
  s.response.sink = (d, end) => {
    out.push(dec.decode(d));
    ended ||= end;
  };
  s.response.onReset = () => (reset = true);
  if (limit) s.response.limit = limit;
  chunks.forEach((c, i) => s.responseBody(enc.encode(c), i === chunks.length - 1));
  const active = vm.activeStreams;
  await vm.close();
  return { sizes, out: out.join(""), ended, reset, active };
}

test("StopIterationAndBuffer: each callback sees the whole buffered body; the rewrite replaces all of it", async () => {
  const r = await run(1, ["ab", "cd", "ef"]);
  assert.equal(r.sizes, [2, 4, 6]);
  assert.is(r.out, "xy");
  assert.ok(r.ended);
});

test("StopIterationAndWatermark: kept, but each callback sees only its own chunk", async () => {
  const r = await run(2, ["ab", "cd", "ef"]);
  assert.equal(r.sizes, [2, 2, 2]);
  assert.is(r.out, "abcdxy");
});

test("StopIterationNoBuffer: the chunks are dropped", async () => {
  const r = await run(3, ["ab", "cd", "ef"]);
  assert.equal(r.sizes, [2, 2, 2]);
  assert.is(r.out, "xy");
});

test("Continue on every chunk: bytes go on as they come (the last chunk rewritten)", async () => {
  const r = await run(0, ["ab", "cd", "ef"]);
  assert.equal(r.sizes, [2, 2, 2]);
  assert.is(r.out, "abcdxy");
});

test("more than the buffer limit held resets the stream", async () => {
  const r = await run(1, ["aaaa", "bbbb", "cccc", "end"], 10);
  assert.ok(r.reset);
  assert.is(r.out, "");
  assert.is(r.active, 0, "the stream was finished (done/log/delete)");
  assert.equal(r.sizes, [4, 8], "the filter is not called again once over the limit");
});

test("copyIntoBuffer follows Envoy's Buffer::copyFrom", () => {
  const b = { bytes: enc.encode("hello") };
  assert.ok(copyIntoBuffer(b, 0, 5, enc.encode("x")));
  assert.is(dec.decode(b.bytes), "x", "start 0, whole length: replaced");
  assert.ok(copyIntoBuffer(b, 0, 0, enc.encode("ab")));
  assert.is(dec.decode(b.bytes), "abx", "start 0, length 0: prepended");
  assert.ok(copyIntoBuffer(b, 3, 0, enc.encode("!")));
  assert.is(dec.decode(b.bytes), "abx!", "start at the end: appended");
  assert.not.ok(copyIntoBuffer(b, 1, 1, enc.encode("?")), "the middle is refused (BadArgument)");
});

test.run();
