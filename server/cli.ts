// `hfi server`: run a control-plane replica until SIGTERM/SIGINT.
import { Command, Option } from "commander";
import { ConfigError, SERVER_OPTIONS, loadServerConfig } from "./config.ts";
import { createLogger } from "./log.ts";

const EXAMPLES = `
Examples:
  # embedded store in ./.hfi-data, gRPC on 127.0.0.1:9090, HTTP on 127.0.0.1:8080
  npx hfi server

  # etcd, every interface, management API and config stream protected by token files
  npx hfi server --etcd-endpoints http://etcd-0:2379,http://etcd-1:2379 \\
    --grpc-addr 0.0.0.0:9090 --http-addr 0.0.0.0:8080 \\
    --api-token-file /var/run/secrets/hfi/api-token --stream-token-file /var/run/secrets/hfi/stream-token

  # in an Istio mesh: identities from the sidecar's x-forwarded-client-cert
  npx hfi server --grpc-addr 0.0.0.0:9090 --http-addr 0.0.0.0:8080 --mesh-identity \\
    --mesh-admin-principals spiffe://cluster.local/ns/boifi/sa/hfi-admin

Every flag also reads its environment variable (flag > env > default).`;

export function serverCommand(): Command {
  const cmd = new Command("server").description("run the HFI control plane (gRPC + HTTP)");
  for (const o of SERVER_OPTIONS) {
    const value = o.flag.slice(2).split("-").pop()!.replace(/^addr$/, "host:port");
    // No commander default: an unset flag must let the env var through (flag > env > default).
    if (o.boolean) {
      cmd.addOption(new Option(o.flag, `${o.description} [env ${o.env}=true]`));
      continue;
    }
    const def = o.default ? ` (default: ${o.default})` : "";
    cmd.addOption(new Option(`${o.flag} <${value}>`, `${o.description}${def} [env ${o.env}]`));
  }
  cmd.addHelpText("after", EXAMPLES);
  cmd.action(async (flags: Record<string, string | undefined>) => {
    let config;
    try {
      config = loadServerConfig(flags, process.env);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`hfi server: ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
    const logger = createLogger(config.logLevel);
    const { runServer } = await import("./main.ts");
    let server;
    try {
      server = await runServer(config, logger);
    } catch (err) {
      logger.fatal({ err: String(err) }, "server failed to start");
      // Also in words on stderr: which address is taken, which flag is wrong.
      process.stderr.write(`hfi server: ${(err as Error)?.message ?? String(err)}\n`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    }
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down");
      server
        .close()
        .then(() => process.exit(0))
        .catch((err) => {
          logger.error({ err: String(err) }, "shutdown failed");
          process.exit(1);
        });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
  return cmd;
}
