// Server configuration: defaults, env, flags, token files, bad values.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ConfigError, SERVER_OPTIONS, defaultWorkers, loadServerConfig, parseAddr } from "../../server/config.ts";
import pino from "pino";
import { bearerToken, tokenEquals } from "../../server/auth.ts";
import { Access } from "../../server/security/access.ts";

test("defaults match the documented ones", () => {
  const c = loadServerConfig({}, {});
  assert.equal(c, {
    grpcAddr: "127.0.0.1:9090",
    httpAddr: "127.0.0.1:8080",
    etcdEndpoints: [],
    etcdPrefix: "/hfi/policies/",
    dataDir: "./.hfi-data",
    logLevel: "info",
    apiToken: undefined,
    streamToken: undefined,
    replicaId: "",
    statusTtlSeconds: 15,
    maxStoreBytes: 64 * 1024 * 1024,
    workers: defaultWorkers(),
    streamDrainTimeoutMs: 30_000,
    streamQueueBudgetBytes: 64 * 1024 * 1024,
    maxFaultSeries: 2000,
    meshIdentity: false,
    meshTrustedProxies: ["127.0.0.6"],
    meshAdminPrincipals: [],
    allowUnauthenticated: false,
  });
  const envs = SERVER_OPTIONS.map((o) => o.env);
  for (const e of ["HFI_GRPC_ADDR", "HFI_HTTP_ADDR", "HFI_ETCD_ENDPOINTS", "HFI_ETCD_PREFIX", "HFI_DATA_DIR", "HFI_LOG_LEVEL", "HFI_API_TOKEN_FILE", "HFI_API_TOKEN", "HFI_STREAM_TOKEN_FILE", "HFI_STREAM_TOKEN"]) {
    assert.ok(envs.includes(e), e);
  }
});

test("--workers default: one process below 4 cores, else cores - 1 (at most 64)", () => {
  assert.equal([1, 2, 3, 4, 8, 200].map((n) => defaultWorkers(n)), [1, 1, 1, 3, 7, 64]);
  assert.equal(loadServerConfig({}, {}).workers, defaultWorkers(os.availableParallelism()));
});

test("--workers, --stream-drain-timeout, --stream-queue-budget: ranges checked, units converted", () => {
  const c = loadServerConfig({ workers: "3" }, { HFI_STREAM_DRAIN_TIMEOUT: "5", HFI_STREAM_QUEUE_BUDGET: "2" });
  assert.equal([c.workers, c.streamDrainTimeoutMs, c.streamQueueBudgetBytes], [3, 5000, 2 * 1024 * 1024]);
  assert.throws(() => loadServerConfig({ workers: "0" }, {}), /--workers: must be an integer between 1 and 64/);
  assert.throws(() => loadServerConfig({ workers: "two" }, {}), /--workers/);
  assert.throws(() => loadServerConfig({}, { HFI_STREAM_DRAIN_TIMEOUT: "0" }), /--stream-drain-timeout: must be an integer between 1 and 3600 seconds/);
  assert.throws(() => loadServerConfig({}, { HFI_STREAM_QUEUE_BUDGET: "1.5" }), /--stream-queue-budget/);
});

test("flags beat env, env beats defaults; endpoints split on commas", () => {
  const c = loadServerConfig(
    { grpcAddr: "127.0.0.1:1", etcdEndpoints: "http://a:2379, http://b:2379" },
    { HFI_GRPC_ADDR: "127.0.0.1:2", HFI_HTTP_ADDR: "127.0.0.1:3", HFI_LOG_LEVEL: "DEBUG", HFI_API_TOKEN: " tok ", HFI_STREAM_TOKEN: "st" },
  );
  assert.is(c.grpcAddr, "127.0.0.1:1");
  assert.is(c.httpAddr, "127.0.0.1:3");
  assert.equal(c.etcdEndpoints, ["http://a:2379", "http://b:2379"]);
  assert.is(c.logLevel, "debug");
  assert.is(c.apiToken, "tok");
});

test("token files win over direct tokens; unreadable or empty files are errors", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-cfg-"));
  try {
    const f = path.join(dir, "token");
    fs.writeFileSync(f, "from-file\n");
    assert.is(loadServerConfig({ streamTokenFile: f }, { HFI_STREAM_TOKEN: "direct" }).streamToken, "from-file");
    assert.is(loadServerConfig({}, { HFI_API_TOKEN_FILE: f, HFI_STREAM_TOKEN: "st" }).apiToken, "from-file");
    assert.throws(() => loadServerConfig({ apiTokenFile: path.join(dir, "missing") }, {}), (e: Error) => e instanceof ConfigError && /--api-token-file: cannot read/.test(e.message));
    fs.writeFileSync(f, "  \n");
    assert.throws(() => loadServerConfig({ apiTokenFile: f }, {}), /is empty/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("addresses and log levels are checked", () => {
  assert.equal(parseAddr("[::]:9090"), { host: "::", port: 9090 });
  assert.equal(parseAddr(":0"), { host: "0.0.0.0", port: 0 });
  assert.throws(() => loadServerConfig({ grpcAddr: "nohost" }, {}), /--grpc-addr: bad address/);
  assert.throws(() => loadServerConfig({ httpAddr: "x:70000" }, {}), /port must be 0-65535/);
  assert.throws(() => loadServerConfig({ logLevel: "loud" }, {}), /--log-level/);
});

test("bearer token parsing and constant-time comparison", () => {
  assert.is(bearerToken("Bearer abc"), "abc");
  assert.is(bearerToken("bearer  abc "), "abc");
  assert.is(bearerToken("Basic abc"), undefined);
  assert.ok(tokenEquals("abc", "abc"));
  assert.not.ok(tokenEquals("abc", "abcd"));
  // The management check every transport runs (server/security/access.ts): undefined = allowed.
  const check = (apiToken: string | undefined, authorization: string | undefined) => {
    const access = new Access({ apiToken, streamToken: undefined, meshIdentity: false, meshTrustedProxies: [], meshAdminPrincipals: [] }, pino({ level: "silent" }));
    try {
      access.management({ authorization, xfcc: undefined, remoteAddress: "127.0.0.1" });
      return undefined;
    } catch (err) {
      return (err as Error).message;
    } finally {
      access.close();
    }
  };
  assert.is(check(undefined, undefined), undefined, "no token configured: open");
  assert.match(check("t", undefined)!, /missing bearer token/);
  assert.match(check("t", "Bearer x")!, /invalid bearer token/);
  assert.is(check("t", "Bearer t"), undefined);
});

test.run();
