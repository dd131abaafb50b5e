// Original file: proto/hfi/v1/policy.proto

import type { HeaderMutation as _hfi_v1_HeaderMutation, HeaderMutation__Output as _hfi_v1_HeaderMutation__Output } from '../../hfi/v1/HeaderMutation.ts';
import type { StatusMatch as _hfi_v1_StatusMatch, StatusMatch__Output as _hfi_v1_StatusMatch__Output } from '../../hfi/v1/StatusMatch.ts';

/**
 * What to change in the response the upstream sent. Anything not given is
 * left as the upstream sent it.
 */
export interface ResponseFault {
  /**
   * Replace the status (:status), 200-599; 0 = keep the upstream's.
   */
  'status'?: (number);
  'headers'?: (_hfi_v1_HeaderMutation | null);
  /**
   * Replace the body; content-length is set to its length and
   * content-encoding removed. Absent = keep the upstream's body.
   */
  'body'?: (string);
  /**
   * Only rewrite responses whose upstream status matches (absent = any).
   */
  'upstreamStatus'?: (_hfi_v1_StatusMatch | null);
  '_body'?: "body";
}

/**
 * What to change in the response the upstream sent. Anything not given is
 * left as the upstream sent it.
 */
export interface ResponseFault__Output {
  /**
   * Replace the status (:status), 200-599; 0 = keep the upstream's.
   */
  'status': (number);
  'headers': (_hfi_v1_HeaderMutation__Output | null);
  /**
   * Replace the body; content-length is set to its length and
   * content-encoding removed. Absent = keep the upstream's body.
   */
  'body'?: (string);
  /**
   * Only rewrite responses whose upstream status matches (absent = any).
   */
  'upstreamStatus': (_hfi_v1_StatusMatch__Output | null);
  '_body'?: "body";
}
