// `hfi policy` end to end against a server on a real etcd.
import { TestEtcd } from "../support/etcd.ts";
import { startTestServer } from "../support/server.ts";
import { commandSuite } from "./commands-suite.ts";

let etcd: TestEtcd | undefined;
const t = commandSuite(
  "etcd",
  async () => {
    etcd = await TestEtcd.start();
    return startTestServer({ etcd });
  },
  async () => {
    await etcd?.stop();
  },
);

t.run();
