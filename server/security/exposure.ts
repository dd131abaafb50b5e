// Start-up check of what a configuration leaves open: with no authentication
// the server may only listen on loopback; the management API protected but
// the config stream open (which would hand every service's rules to anyone)
// is refused too. --allow-unauthenticated accepts both, with a warning.
import { ConfigError, parseAddr, type ServerConfig } from "../config.ts";

// A function, not a constant: config.ts and this module import each other.
const fixes = () =>
  "set a token (--api-token-file or HFI_API_TOKEN for the management API, and --stream-token-file or HFI_STREAM_TOKEN for the config stream), " +
  "or --mesh-identity (with --mesh-admin-principals), or pass --allow-unauthenticated to accept this";

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^::ffff:/, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export function managementProtected(c: Pick<ServerConfig, "apiToken" | "meshIdentity" | "meshAdminPrincipals">): boolean {
  return !!c.apiToken || (c.meshIdentity && c.meshAdminPrincipals.length > 0);
}

export function streamProtected(c: Pick<ServerConfig, "streamToken" | "meshIdentity">): boolean {
  return !!c.streamToken || c.meshIdentity;
}

/** What is open to anyone who can connect ("management API", "config stream"). */
export function openParts(c: ServerConfig): string[] {
  return [...(managementProtected(c) ? [] : ["management API"]), ...(streamProtected(c) ? [] : ["config stream"])];
}

function exposedAddrs(c: ServerConfig): string[] {
  return [
    ...(isLoopbackHost(parseAddr(c.grpcAddr).host) ? [] : [`--grpc-addr ${c.grpcAddr}`]),
    ...(isLoopbackHost(parseAddr(c.httpAddr).host) ? [] : [`--http-addr ${c.httpAddr}`]),
  ];
}

/** Throws ConfigError for a configuration that leaves the API or the stream open where it must not. */
export function checkExposure(c: ServerConfig): void {
  if (c.meshIdentity && c.meshAdminPrincipals.length === 0 && !c.apiToken) {
    throw new ConfigError(
      "--mesh-identity: no one could manage policies: set --mesh-admin-principals (e.g. spiffe://cluster.local/ns/boifi/sa/hfi-admin) or an API token (--api-token-file or HFI_API_TOKEN)",
    );
  }
  if (c.allowUnauthenticated) return;
  const open = openParts(c);
  if (managementProtected(c) && open.length) {
    throw new ConfigError(
      "the management API is protected but the config stream is not: anyone who can reach --grpc-addr could read every service's rules. " +
        "Set --stream-token-file (or HFI_STREAM_TOKEN) or --mesh-identity, or pass --allow-unauthenticated to accept this",
    );
  }
  const exposed = exposedAddrs(c);
  if (open.length && exposed.length) {
    throw new ConfigError(
      `${exposed.join(" and ")} ${exposed.length > 1 ? "are" : "is"} not a loopback address and no authentication is configured ` +
        `(the ${open.join(" and ")} would be open to anyone who can connect): ${fixes()}`,
    );
  }
}

/** The warning --allow-unauthenticated logs at every start (undefined when nothing is open). */
export function exposureWarning(c: ServerConfig): string | undefined {
  if (!c.allowUnauthenticated) return undefined;
  const open = openParts(c);
  if (!open.length) return undefined;
  const exposed = exposedAddrs(c);
  const where = exposed.length ? ` on ${exposed.join(" and ")}` : " (loopback only)";
  return `--allow-unauthenticated: the ${open.join(" and ")} ${open.length > 1 ? "are" : "is"} open to anyone who can connect${where}`;
}
