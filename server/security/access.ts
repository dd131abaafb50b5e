// Who may do what, one place for every transport (grpc-js calls, the raw
// HTTP/2 StreamConfig path, REST):
// - management (PolicyService, /v1/policies*): a valid API token, or under
//   --mesh-identity a verified SPIFFE ID listed in --mesh-admin-principals;
//   with neither configured, anyone (only allowed on loopback, exposure.ts);
// - config stream: the stream token when one is configured, and under
//   --mesh-identity a verified SPIFFE ID whose namespace (and service
//   account, when the claim names one) matches the identity claimed.
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { IdentityOut } from "../../proto/loader.ts";
import { bearerToken, tokenEquals } from "../auth.ts";
import type { ServerConfig } from "../config.ts";
import { ApiError } from "../errors.ts";
import { meshPeer, type MeshPeer, type MeshRequest } from "./mesh.ts";
import { TokenSource } from "./tokens.ts";

export interface Caller extends MeshRequest {
  /** The authorization header / metadata value. */
  authorization: string | undefined;
}

export const XFCC_HEADER = "x-forwarded-client-cert";

const denied = (message: string) => new ApiError(grpc.status.PERMISSION_DENIED, 403, message);
const unauthenticated = (message: string) => new ApiError(grpc.status.UNAUTHENTICATED, 401, message);

export class Access {
  readonly apiToken: TokenSource;
  readonly streamToken: TokenSource;
  private readonly admins: Set<string>;

  constructor(
    private readonly config: Pick<
      ServerConfig,
      "apiToken" | "apiTokenFile" | "streamToken" | "streamTokenFile" | "meshIdentity" | "meshTrustedProxies" | "meshAdminPrincipals"
    >,
    logger: Logger,
    tokenPollMs?: number,
  ) {
    this.apiToken = new TokenSource("--api-token-file", config.apiToken, config.apiTokenFile, logger, tokenPollMs);
    this.streamToken = new TokenSource("--stream-token-file", config.streamToken, config.streamTokenFile, logger, tokenPollMs);
    this.admins = new Set(config.meshAdminPrincipals ?? []);
  }

  private peer(caller: Caller): { peer: MeshPeer } | { reason: string } {
    return meshPeer(caller, this.config.meshTrustedProxies ?? []);
  }

  /** Throws an ApiError (UNAUTHENTICATED / PERMISSION_DENIED) unless the caller may manage policies. */
  management(caller: Caller): void {
    const token = this.apiToken.value;
    const mesh = this.config.meshIdentity;
    if (!token && !mesh) return;
    const given = bearerToken(caller.authorization);
    if (token && given !== undefined && tokenEquals(given, token)) return;
    if (!mesh) throw unauthenticated(given === undefined ? "missing bearer token (authorization: Bearer <token>)" : "invalid bearer token");
    const found = this.peer(caller);
    if ("peer" in found && this.admins.has(found.peer.principal)) return;
    if (given !== undefined) throw unauthenticated("invalid bearer token");
    if ("peer" in found) {
      throw denied(`mesh identity ${found.peer.uri} may not manage policies (not in --mesh-admin-principals${this.admins.size ? ` ${[...this.admins].join(", ")}` : ""})`);
    }
    throw unauthenticated(`${found.reason}; management calls need an admin mesh identity${token ? " or the API token (authorization: Bearer <token>)" : ""}`);
  }

  /** Throws an ApiError unless the caller may subscribe as `claim`. `subscribeToken`: Subscribe.token. */
  stream(caller: Caller, subscribeToken: string | undefined, claim: IdentityOut): void {
    const token = this.streamToken.value;
    if (token) {
      const given = subscribeToken || bearerToken(caller.authorization);
      if (!given) throw unauthenticated("missing stream token (subscribe.token or authorization: Bearer <token>)");
      if (!tokenEquals(given, token)) throw unauthenticated("invalid stream token");
    }
    if (!this.config.meshIdentity) return;
    const found = this.peer(caller);
    if (!("peer" in found)) throw unauthenticated(`${found.reason}; config streams need a mesh identity`);
    const { peer } = found;
    if (peer.namespace === undefined) throw denied(`mesh identity ${peer.uri} is not a Kubernetes SPIFFE ID (spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>)`);
    if (claim.namespace !== peer.namespace) {
      throw denied(`identity claim namespace "${claim.namespace}" does not match the caller's mesh identity ${peer.uri} (namespace "${peer.namespace}")`);
    }
    if (claim.serviceAccount && claim.serviceAccount !== peer.serviceAccount) {
      throw denied(`identity claim service account "${claim.serviceAccount}" does not match the caller's mesh identity ${peer.uri} (service account "${peer.serviceAccount}")`);
    }
  }

  close(): void {
    this.apiToken.close();
    this.streamToken.close();
  }
}
