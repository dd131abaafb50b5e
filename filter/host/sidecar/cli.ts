// `hfi sidecar`: run the filter in front of a local service, as the Envoy
// sidecar would, against a real control plane.
import { Command, Option, InvalidArgumentError } from "commander";
import fs from "node:fs";
import { startSidecar, DEFAULT_WASM } from "./proxy.ts";
import { parseDestination, type Destination } from "./routes.ts";
import { defaultLogger } from "../logger.ts";
import { LogLevel, type LogLevelName } from "../abi.ts";

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError("must be an integer between 1 and 256");
  return n;
}

function destination(v: string, prev: Destination[] = []): Destination[] {
  try {
    return [...prev, parseDestination(v)];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function label(v: string, prev: Record<string, string> = {}): Record<string, string> {
  const i = v.indexOf("=");
  if (i <= 0) throw new InvalidArgumentError("must be KEY=VALUE");
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
}

export function sidecarCommand(): Command {
  return new Command("sidecar")
    .description("Run the HFI filter as a local reverse proxy (an Envoy sidecar stand-in)")
    // Usage errors throw to cli/main.ts, which exits 2 (addCommand does not inherit this).
    .exitOverride()
    .option("--upstream <url>", "upstream service base URL (http only); with --outbound: where calls to no --destination go (PassthroughCluster)")
    .option("--outbound", "stand for the workload's outbound listener: the filter runs with direction outbound", false)
    .option("--destination <host:port=url>", "with --outbound: a mesh service (FQDN:port) and the local URL serving it (repeatable)", destination)
    .option("--service <name>", "service name: pod label app=<name>, and the workload name unless --workload is given")
    .option("--workload <name>", "workload (Deployment) name: node metadata WORKLOAD_NAME, as Istio's injector sets it")
    .option("--listen <host:port>", "address to listen on", "127.0.0.1:15001")
    .option("--control-plane <host:port,...>", "control plane gRPC address(es); several comma-separated fail over in order", process.env.HFI_CONTROL_PLANE ?? "127.0.0.1:9090")
    .option("--namespace <ns>", "workload namespace (node metadata NAMESPACE)", "default")
    .option("--service-account <name>", "workload service account (node metadata SERVICE_ACCOUNT)", "default")
    .option("--pod <name>", "pod name (node metadata NAME; default <workload>-local)")
    .option("--label <key=value>", "pod label (node metadata LABELS; repeatable)", label)
    .option("--workers <n>", "worker VMs (Envoy --concurrency); with the main thread's VM each holds a control-plane stream", positiveInt, 1)
    .option("--wasm <path>", "filter module", DEFAULT_WASM)
    .option("--token <token>", "filter stream token (when the server requires one)", process.env.HFI_STREAM_TOKEN)
    .option("--plugin-config <json>", "raw plugin configuration JSON (overrides the one built from the flags)")
    .option("--metrics-addr <host:port>", "serve filter metrics at /stats/prometheus on this address (off by default)")
    .option("--fail-open", "let traffic through if the VM crashes (Envoy default: fail closed, 503)", false)
    .option("--peer-principal <spiffe-id>", "the caller's mTLS identity for every request (connection.uri_san_peer_certificate), e.g. spiffe://cluster.local/ns/demo/sa/checkout")
    .option("--peer-service <name>", "the caller's service in Istio peer metadata (filter_state.downstream_peer.service)")
    .option("--peer-namespace <ns>", "the caller's namespace in Istio peer metadata (filter_state.downstream_peer.namespace)")
    .addOption(
      new Option("--log-level <level>", "log level").choices(Object.keys(LogLevel)).default(process.env.HFI_LOG_LEVEL ?? "info"),
    )
    .addHelpText(
      "after",
      `
Example:
  npx hfi sidecar --listen 127.0.0.1:15001 --upstream http://127.0.0.1:8000 \\
    --control-plane 127.0.0.1:9090 --service frontend --namespace demo --workers 2
  curl -i http://127.0.0.1:15001/

  # frontend's outbound side: its calls to productcatalog go through the filter (direction outbound)
  npx hfi sidecar --outbound --listen 127.0.0.1:15002 --service frontend --namespace demo \
    --destination productcatalog.demo.svc.cluster.local:8080=http://127.0.0.1:9001
  curl -i -H 'Host: productcatalog:8080' http://127.0.0.1:15002/

  # A Bookinfo-style workload: Deployment reviews-v1, labels app=reviews version=v1
  # (policies with selector.service: reviews target it)
  npx hfi sidecar --upstream http://127.0.0.1:9080 --workload reviews-v1 --label app=reviews --label version=v1

  # Every request arrives as if from checkout in demo over mTLS (for match.source)
  npx hfi sidecar --upstream http://127.0.0.1:8000 --service catalog --namespace demo \
    --peer-principal spiffe://cluster.local/ns/demo/sa/checkout --peer-service checkout --peer-namespace demo
`,
    )
    .action(async (opts) => {
      if (!opts.service && !opts.workload) {
        process.stderr.write("hfi sidecar: --workload <name> or --service <name> is required (who this workload is)\n");
        process.exitCode = 2;
        return;
      }
      if (!opts.upstream && !opts.outbound) {
        process.stderr.write("hfi sidecar: --upstream <url> is required (the service this sidecar fronts)\n");
        process.exitCode = 2;
        return;
      }
      if (opts.destination && !opts.outbound) {
        process.stderr.write("hfi sidecar: --destination needs --outbound\n");
        process.exitCode = 2;
        return;
      }
      if (!fs.existsSync(opts.wasm)) {
        const hint = opts.wasm === DEFAULT_WASM ? "run npm run build:filter (it writes filter/build/hfi-filter.wasm)" : "check --wasm";
        process.stderr.write(`hfi sidecar: filter module ${opts.wasm} not found: ${hint}\n`);
        process.exitCode = 1;
        return;
      }
      const logLevel = opts.logLevel as LogLevelName;
      const logger = defaultLogger(logLevel);
      let sidecar: Awaited<ReturnType<typeof startSidecar>>;
      try {
        sidecar = await startSidecar({
          listen: opts.listen,
          upstream: opts.upstream,
          outbound: opts.outbound,
          destinations: opts.destination,
          controlPlane: opts.controlPlane,
          service: opts.service,
          workload: opts.workload,
          namespace: opts.namespace,
          serviceAccount: opts.serviceAccount,
          pod: opts.pod,
          labels: opts.label,
          workers: opts.workers,
          wasm: opts.wasm,
          token: opts.token,
          pluginConfig: opts.pluginConfig,
          metricsAddr: opts.metricsAddr,
          failOpen: opts.failOpen,
          peer:
            opts.peerPrincipal || opts.peerService || opts.peerNamespace
              ? { principal: opts.peerPrincipal, service: opts.peerService, namespace: opts.peerNamespace }
              : undefined,
          logger,
          logLevel,
        });
      } catch (err) {
        // Startup failures (module refused, address in use, bad URL): one clear line, exit 1.
        process.stderr.write(`hfi sidecar: ${(err as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      logger.info(
        { listen: sidecar.address, upstream: opts.upstream, controlPlane: opts.controlPlane, workers: opts.workers, metrics: sidecar.metricsAddress },
        "hfi sidecar listening",
      );
      await new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          logger.info({ signal: sig }, "hfi sidecar shutting down");
          process.off("SIGINT", onInt);
          process.off("SIGTERM", onTerm);
          sidecar.close().then(resolve, (err) => {
            logger.error({ err: String(err) }, "shutdown failed");
            resolve();
          });
        };
        const onInt = () => stop("SIGINT");
        const onTerm = () => stop("SIGTERM");
        process.on("SIGINT", onInt);
        process.on("SIGTERM", onTerm);
      });
    });
}
