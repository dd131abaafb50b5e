// Server reflection (v1 + v1alpha via @grpc/reflection) with descriptors
// protoc-style tools accept. hfi.v1 comes from the precompiled descriptor set
// (buf-built, protoc-style). For grpc.health.v1 proto-loader's descriptors
// (protobufjs) would name map entry types "Labels" instead of "LabelsEntry"
// and, with keepCase off, carry camelCase field names; buf curl / grpcurl then
// fail to link the schema, so we load it with its original field names and
// rename map entries.
import path from "node:path";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import type * as grpc from "@grpc/grpc-js";
import descriptor from "protobufjs/ext/descriptor/index.js";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { fileDescriptorProtos as hfiFileDescriptorProtos } from "../../proto/loader.ts";

// grpc-health-check's bundled proto: <pkg>/proto/health/v1/health.proto
const HEALTH_PROTO_DIR = path.resolve(path.dirname(healthProtoPath), "../..");

interface FieldDesc {
  name: string;
  typeName?: string;
}
interface MessageDesc {
  name: string;
  field?: FieldDesc[];
  nestedType?: MessageDesc[];
  options?: { mapEntry?: boolean };
}
interface FileDesc {
  messageType?: MessageDesc[];
}

const entryName = (field: string) =>
  field
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("") + "Entry";

function fixMessage(m: MessageDesc): void {
  for (const nested of m.nestedType ?? []) {
    if (nested.options?.mapEntry) {
      const field = m.field?.find((f) => f.typeName === nested.name || f.typeName?.endsWith(`.${nested.name}`));
      if (field) {
        const fixed = entryName(field.name);
        field.typeName = field.typeName!.slice(0, field.typeName!.length - nested.name.length) + fixed;
        nested.name = fixed;
      }
    }
    fixMessage(nested);
  }
}

type DescriptorType = { decode(b: Uint8Array): object; encode(m: object): { finish(): Uint8Array } };

function fixedFiles(files: string[], includeDirs: string[]): Buffer[] {
  const pd = protoLoader.loadSync(files, { keepCase: true, includeDirs });
  const FileDescriptorProto = (descriptor as unknown as { FileDescriptorProto: DescriptorType }).FileDescriptorProto;
  const seen = new Set<string>();
  const out: Buffer[] = [];
  for (const def of Object.values(pd)) {
    for (const bin of (def as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos ?? []) {
      const file = FileDescriptorProto.decode(bin) as FileDesc & { name: string };
      if (seen.has(file.name)) continue;
      seen.add(file.name);
      for (const m of file.messageType ?? []) fixMessage(m);
      out.push(Buffer.from(FileDescriptorProto.encode(file).finish()));
    }
  }
  return out;
}

/** Adds grpc.reflection.v1 and v1alpha describing hfi.v1 and grpc.health.v1. */
export function addReflection(server: grpc.Server): void {
  const fileDescriptorProtos = [
    ...hfiFileDescriptorProtos(),
    ...fixedFiles([path.relative(HEALTH_PROTO_DIR, healthProtoPath)], [HEALTH_PROTO_DIR]),
  ];
  // @grpc/reflection only reads fileDescriptorProtos from the definition's entries.
  const pkg = { files: { fileDescriptorProtos } } as unknown as protoLoader.PackageDefinition;
  new ReflectionService(pkg).addToServer(server);
}
