// Original file: proto/hfi/v1/policy.proto

import type { StringMatch as _hfi_v1_StringMatch, StringMatch__Output as _hfi_v1_StringMatch__Output } from '../../hfi/v1/StringMatch.ts';
import type { HeaderMatch as _hfi_v1_HeaderMatch, HeaderMatch__Output as _hfi_v1_HeaderMatch__Output } from '../../hfi/v1/HeaderMatch.ts';
import type { QueryParamMatch as _hfi_v1_QueryParamMatch, QueryParamMatch__Output as _hfi_v1_QueryParamMatch__Output } from '../../hfi/v1/QueryParamMatch.ts';
import type { GrpcMatch as _hfi_v1_GrpcMatch, GrpcMatch__Output as _hfi_v1_GrpcMatch__Output } from '../../hfi/v1/GrpcMatch.ts';
import type { SourceMatch as _hfi_v1_SourceMatch, SourceMatch__Output as _hfi_v1_SourceMatch__Output } from '../../hfi/v1/SourceMatch.ts';
import type { Destination as _hfi_v1_Destination, Destination__Output as _hfi_v1_Destination__Output } from '../../hfi/v1/Destination.ts';

/**
 * Every condition given must hold (logical AND).
 */
export interface RequestMatch {
  'method'?: (_hfi_v1_StringMatch | null);
  'path'?: (_hfi_v1_StringMatch | null);
  'headers'?: (_hfi_v1_HeaderMatch)[];
  'queryParams'?: (_hfi_v1_QueryParamMatch)[];
  /**
   * gRPC shorthand for the path (/<service>/<method>); the server compiles it
   * into the path matcher for the filter. Not together with path.
   */
  'grpc'?: (_hfi_v1_GrpcMatch | null);
  /**
   * Inbound: the calling workload, from the peer identity Envoy holds for
   * the downstream connection (mTLS certificate, Istio peer metadata).
   */
  'source'?: (_hfi_v1_SourceMatch | null);
  /**
   * Outbound policies only: the destination the call goes to, as Envoy
   * routes it (the Istio cluster outbound|PORT||HOST, else :authority).
   */
  'destination'?: (_hfi_v1_Destination | null);
}

/**
 * Every condition given must hold (logical AND).
 */
export interface RequestMatch__Output {
  'method': (_hfi_v1_StringMatch__Output | null);
  'path': (_hfi_v1_StringMatch__Output | null);
  'headers': (_hfi_v1_HeaderMatch__Output)[];
  'queryParams': (_hfi_v1_QueryParamMatch__Output)[];
  /**
   * gRPC shorthand for the path (/<service>/<method>); the server compiles it
   * into the path matcher for the filter. Not together with path.
   */
  'grpc': (_hfi_v1_GrpcMatch__Output | null);
  /**
   * Inbound: the calling workload, from the peer identity Envoy holds for
   * the downstream connection (mTLS certificate, Istio peer metadata).
   */
  'source': (_hfi_v1_SourceMatch__Output | null);
  /**
   * Outbound policies only: the destination the call goes to, as Envoy
   * routes it (the Istio cluster outbound|PORT||HOST, else :authority).
   */
  'destination': (_hfi_v1_Destination__Output | null);
}
