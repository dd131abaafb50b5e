// Original file: proto/hfi/v1/policy.proto

import type { HeaderValue as _hfi_v1_HeaderValue, HeaderValue__Output as _hfi_v1_HeaderValue__Output } from '../../hfi/v1/HeaderValue.ts';

export interface AbortFault {
  /**
   * 200-599.
   */
  'httpStatus'?: (number);
  'body'?: (string);
  'headers'?: (_hfi_v1_HeaderValue)[];
  /**
   * For gRPC requests (content-type application/grpc*): answer with this
   * grpc-status (1-16). 0 = not set: as in Envoy, the reply is HTTP 200 with
   * a grpc-status mapped from http_status (e.g. 503 -> UNAVAILABLE).
   */
  'grpcStatus'?: (number);
}

export interface AbortFault__Output {
  /**
   * 200-599.
   */
  'httpStatus': (number);
  'body': (string);
  'headers': (_hfi_v1_HeaderValue__Output)[];
  /**
   * For gRPC requests (content-type application/grpc*): answer with this
   * grpc-status (1-16). 0 = not set: as in Envoy, the reply is HTTP 200 with
   * a grpc-status mapped from http_status (e.g. 503 -> UNAVAILABLE).
   */
  'grpcStatus': (number);
}
