// Undecodable request messages are the client's error: INVALID_ARGUMENT,
// not grpc-js's INTERNAL "Error deserializing request". grpc-js answers a
// throwing deserializer itself, below any interceptor, so every method's
// deserializer is wrapped to return an Undecodable marker instead of
// throwing, and a server interceptor ends the call when one arrives. Covers
// every service added to the server (ours, health, reflection).
import * as grpc from "@grpc/grpc-js";

export class Undecodable {
  constructor(readonly reason: string) {}
}

/** The answer to an undecodable request on `path` (shared with the raw StreamConfig path). */
export function undecodableStatus(path: string, reason: string): { code: grpc.status; details: string } {
  return { code: grpc.status.INVALID_ARGUMENT, details: `request message of ${path} is not valid protobuf: ${reason}` };
}

type Definition = Record<string, grpc.MethodDefinition<unknown, unknown>>;

function tolerant(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Definition = {};
  for (const [name, def] of Object.entries(service as unknown as Definition)) {
    const decode = def.requestDeserialize;
    out[name] = {
      ...def,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return new Undecodable((err as Error)?.message ?? String(err));
        }
      },
    };
  }
  return out as unknown as grpc.ServiceDefinition;
}

const rejectUndecodable: grpc.ServerInterceptor = (method, call) => {
  let rejected = false;
  return new grpc.ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMessage(message, pass) {
          if (rejected) return;
          if (message instanceof Undecodable) {
            rejected = true;
            call.sendStatus(undecodableStatus(method.path, message.reason));
            return;
          }
          pass(message);
        },
        onReceiveHalfClose(pass) {
          if (!rejected) pass();
        },
      });
    },
  });
};

/** A grpc-js server whose services answer undecodable requests with INVALID_ARGUMENT. */
export class TolerantServer extends grpc.Server {
  constructor(options: grpc.ServerOptions = {}) {
    super({ ...options, interceptors: [rejectUndecodable, ...(options.interceptors ?? [])] });
  }

  override addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    super.addService(tolerant(service), implementation);
  }
}
