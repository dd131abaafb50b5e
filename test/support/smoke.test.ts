import { test } from "uvu";
import * as assert from "uvu/assert";
import { TestEtcd } from "./etcd.ts";

test("a real etcd starts, answers etcdctl, survives SIGKILL + restart", async () => {
  const etcd = await TestEtcd.start();
  try {
    etcd.ctl("put", "/smoke", "1");
    await etcd.restart();
    assert.is(etcd.ctl("get", "/smoke", "--print-value-only").trim(), "1");
  } finally {
    await etcd.stop();
  }
});

test.run();
