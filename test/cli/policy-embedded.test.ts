// `hfi policy` end to end against a server on the embedded store, plus the
// management API token.
import * as assert from "uvu/assert";
import { startTestServer } from "../support/server.ts";
import { commandSuite } from "./commands-suite.ts";
import { runHfi } from "./run.ts";

const t = commandSuite("embedded store", () => startTestServer());

t("--token / HFI_TOKEN: the management API token is sent as a bearer token", async () => {
  const server = await startTestServer({ apiToken: "s3cret", streamToken: "str3am" });
  try {
    const env = { HFI_SERVER: server.grpcAddress };
    let r = await runHfi(["policy", "list"], { env });
    assert.is(r.code, 1);
    assert.match(r.stderr, /--token\/HFI_TOKEN/);
    r = await runHfi(["policy", "list", "--token", "s3cret"], { env });
    assert.is(r.code, 0, r.stderr);
    r = await runHfi(["policy", "list"], { env: { ...env, HFI_TOKEN: "s3cret" } });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, "No policies.\n");
  } finally {
    await server.close();
  }
});

t.run();
