import { execFileSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SERVER_NODE_FLAGS, withServerFlags } from "../../server/heap-flags.ts";

test("withServerFlags adds the server's V8 flags and keeps an operator's own value", () => {
  assert.equal(withServerFlags(["--inspect"]), ["--inspect", ...SERVER_NODE_FLAGS]);
  assert.equal(withServerFlags(["--max-semi-space-size=8"]), ["--max-semi-space-size=8"]);
});

// The flag sizes the young generation of the process it starts (a run-time v8.setFlagsFromString does not).
test("a node started with the flags grows a larger new space than the default under the same allocation", () => {
  const probe = `
    const v8 = require("node:v8");
    const keep = [];
    for (let i = 0; i < 4e6; i++) { keep.push({ i }); if (keep.length > 300000) keep.splice(0, 150000); }
    console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size);`;
  const size = (flags: readonly string[]) => Number(execFileSync(process.execPath, [...flags, "-e", probe], { encoding: "utf8" }).trim());
  const withFlags = size(SERVER_NODE_FLAGS);
  assert.ok(withFlags > size([]), `${withFlags} bytes: no larger than the default`);
});

test.run();
