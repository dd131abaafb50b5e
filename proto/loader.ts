// Loads the hfi.v1 protos at run time for @grpc/grpc-js. The options here are
// the ones scripts/codegen.sh generates the TypeScript types for; change both
// together.
import { fileURLToPath } from "node:url";
import path from "node:path";
import * as protoLoader from "@grpc/proto-loader";
import * as grpc from "@grpc/grpc-js";
import type { ProtoGrpcType as PolicyServiceProto } from "./gen/policy_service.ts";
import type { ProtoGrpcType as ConfigDiscoveryProto } from "./gen/config_discovery.ts";

export const PROTO_DIR = path.dirname(fileURLToPath(import.meta.url));
export const PROTO_FILES = [
  "hfi/v1/policy.proto",
  "hfi/v1/policy_service.proto",
  "hfi/v1/config_discovery.proto",
];

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let cached: protoLoader.PackageDefinition | undefined;

/** The package definition (shared; also what gRPC reflection serves). */
export function packageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(PROTO_FILES, LOADER_OPTIONS);
  return cached;
}

/** The typed grpc object for hfi.v1 (service constructors and definitions). */
export function hfiGrpc(): (PolicyServiceProto & ConfigDiscoveryProto)["hfi"]["v1"] {
  const loaded = grpc.loadPackageDefinition(packageDefinition()) as unknown as PolicyServiceProto &
    ConfigDiscoveryProto;
  return loaded.hfi.v1;
}

export type * from "./types.ts";
