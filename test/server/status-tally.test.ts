// FirstN and mergeFirst: the bounded lists of a status report are exactly the
// first `limit` entries of the full sorted list, built without making the rest.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { FirstN, mergeFirst, sortKey } from "../../server/status/tally.ts";

test("FirstN keeps exactly the limit smallest keys, in order, for any input order and limit", () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 4 }), { maxLength: 300 }), fc.integer({ min: 0, max: 40 }), (keys, limit) => {
      const first = new FirstN<string>(limit);
      for (const k of keys) first.add(k, () => k.toUpperCase());
      const want = [...keys].sort().slice(0, limit);
      assert.equal(first.values().map((e) => e.key), want);
      assert.equal(first.values().map((e) => e.value), want.map((k) => k.toUpperCase()));
    }),
  );
});

test("FirstN does not make values that cannot enter the list", () => {
  const first = new FirstN<number>(10);
  let made = 0;
  for (let i = 0; i < 10_000; i++) first.add(sortKey(`p${String(i).padStart(5, "0")}`, "r", i), () => ++made);
  assert.is(first.values().length, 10);
  assert.ok(made <= 20, `made ${made} values for 10 slots`);
});

test("mergeFirst: per-worker lists merge into the global first N", () => {
  const a = [{ key: "a", value: 1 }, { key: "d", value: 4 }];
  const b = [{ key: "b", value: 2 }, { key: "c", value: 3 }];
  assert.equal(mergeFirst([a, b], 3).map((e) => e.value), [1, 2, 3]);
  assert.equal(sortKey("p", "r", 7) < sortKey("p", "r", 12), true, "stream ids compare as numbers");
});

test.run();
