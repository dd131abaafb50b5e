// Original file: proto/hfi/v1/policy.proto


/**
 * A gRPC call by its fully qualified service (e.g. demo.Catalog) and method.
 * Each is exact or "*" (any; empty means "*" too).
 */
export interface GrpcMatch {
  'service'?: (string);
  'method'?: (string);
}

/**
 * A gRPC call by its fully qualified service (e.g. demo.Catalog) and method.
 * Each is exact or "*" (any; empty means "*" too).
 */
export interface GrpcMatch__Output {
  'service': (string);
  'method': (string);
}
