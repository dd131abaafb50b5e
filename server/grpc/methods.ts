// The method definitions proto-loader builds from proto/ (paths, serializers),
// looked up by service and method name.
import { packageDefinition } from "../../proto/loader.ts";

type Serialize = (value: object) => Buffer;
type Deserialize = (bytes: Buffer) => unknown;
export interface MethodDef {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: Serialize;
  requestDeserialize: Deserialize;
  responseSerialize: Serialize;
  responseDeserialize: Deserialize;
  originalName?: string;
}

export function methodDefinition(service: string, method: string): MethodDef {
  const svc = packageDefinition()[service] as unknown as Record<string, MethodDef>;
  const m = svc?.[method];
  if (!m) throw new Error(`no method ${service}/${method}`);
  return m;
}
