// Loads the hfi.v1 contract from the descriptors scripts/codegen.sh
// precompiles into proto/gen/descriptor.ts (no .proto is parsed at run time,
// and no file is read: the loader works the same inside a bundle):
//   HFI_V1_JSON            protobufjs JSON (snake_case names): gRPC + schema
//   HFI_V1_DESCRIPTOR_SET  FileDescriptorSet (protoc-style): gRPC reflection
//
// The gRPC method definitions are built here from protobufjs (light build)
// rather than by @grpc/proto-loader: proto-loader also turns every message
// into a descriptor object up front, which is half the start-up time of a
// short CLI call. The (de)serializers are the ones proto-loader makes:
// fromObject + encode, and decode + toObject with the options below — the
// options scripts/codegen.sh generates the TypeScript types for (change both
// together).
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs/light.js";
import type { PackageDefinition, ServiceDefinition } from "@grpc/proto-loader";
import { camelCased, CONVERSION_OPTIONS, rootOf, schemaJson } from "./schema.ts";
import type { ProtoGrpcType as PolicyServiceProto } from "./gen/policy_service.ts";
import type { ProtoGrpcType as ConfigDiscoveryProto } from "./gen/config_discovery.ts";

export { CONVERSION_OPTIONS, fileDescriptorProtos, schemaJson, schemaRoot } from "./schema.ts";

function serializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`cannot serialize an array as ${type.name}`);
    return Buffer.from(type.encode(type.fromObject(value)).finish());
  };
}
function deserializer(type: protobuf.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), CONVERSION_OPTIONS);
}

function serviceDefinition(service: protobuf.Service): ServiceDefinition {
  const def: Record<string, unknown> = {};
  for (const m of service.methodsArray) {
    const req = m.resolvedRequestType!;
    const res = m.resolvedResponseType!;
    def[m.name] = {
      path: `/${service.fullName.slice(1)}/${m.name}`,
      requestStream: !!m.requestStream,
      responseStream: !!m.responseStream,
      requestSerialize: serializer(req),
      requestDeserialize: deserializer(req),
      responseSerialize: serializer(res),
      responseDeserialize: deserializer(res),
      originalName: m.name.charAt(0).toLowerCase() + m.name.slice(1),
    };
  }
  return def as unknown as ServiceDefinition;
}

let cached: PackageDefinition | undefined;

/** Service definitions by full name, e.g. "hfi.v1.PolicyService". */
export function packageDefinition(): PackageDefinition {
  if (!cached) {
    const v1 = rootOf(camelCased(schemaJson())).lookup("hfi.v1") as protobuf.Namespace;
    cached = {};
    for (const obj of v1.nestedArray)
      if (obj instanceof protobuf.Service) cached[obj.fullName.slice(1)] = serviceDefinition(obj);
  }
  return cached;
}

/** The typed grpc object for hfi.v1 (service constructors and definitions). */
export function hfiGrpc(): (PolicyServiceProto & ConfigDiscoveryProto)["hfi"]["v1"] {
  const loaded = grpc.loadPackageDefinition(packageDefinition()) as unknown as PolicyServiceProto &
    ConfigDiscoveryProto;
  return loaded.hfi.v1;
}

export type * from "./types.ts";
