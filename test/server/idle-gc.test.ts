// IdleGc: one full collection once buffer allocation stopped growing, none
// while it grows, none for JS-heap growth alone. Checks are called directly
// (the poll timer is set far out), so no timing decides the outcome.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { pino } from "pino";
import { IdleGc } from "../../server/idle-gc.ts";

const MiB = 1024 * 1024;
const logger = pino({ level: "silent" });
const idleGc = () => new IdleGc({ logger, growthBytes: 16 * MiB, pollMs: 3_600_000, minGapMs: 0 });

test("dead buffers past the growth threshold are collected once allocation settles", () => {
  const gc = idleGc();
  try {
    let held: Buffer[] = [];
    for (let i = 0; i < 64; i++) held.push(Buffer.alloc(MiB, i));
    const before = process.memoryUsage().external;
    held = [];
    gc.check(); // grew, but was still growing since the last check
    assert.is(gc.stats.collections, 0);
    gc.check(); // settled
    assert.is(gc.stats.collections, 1);
    assert.ok(process.memoryUsage().external < before - 32 * MiB, `external fell from ${before} to ${process.memoryUsage().external}`);
    gc.check();
    assert.is(gc.stats.collections, 1, "nothing new to collect");
    assert.is(held.length, 0);
  } finally {
    gc.close();
  }
});

test("no collection while buffers keep growing, nor for JS heap growth alone", () => {
  const gc = idleGc();
  try {
    const held: Buffer[] = [];
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 12; j++) held.push(Buffer.alloc(MiB, j));
      gc.check();
    }
    assert.is(gc.stats.collections, 0, "still growing at every check");
    held.length = 0;
    const other = idleGc();
    const objects: object[] = [];
    for (let i = 0; i < 300_000; i++) objects.push({ i, s: `x${i}` });
    other.check();
    other.check();
    other.close();
    assert.is(other.stats.collections, 0, "heap growth is V8's to collect");
    assert.ok(objects.length > 0);
  } finally {
    gc.close();
  }
});

test.run();
