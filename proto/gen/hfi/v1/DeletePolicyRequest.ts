// Original file: proto/hfi/v1/policy_service.proto

import type { Long } from '@grpc/proto-loader';

export interface DeletePolicyRequest {
  'name'?: (string);
  /**
   * Compare-and-swap as in ApplyPolicyRequest. 0 = no check.
   */
  'expectedVersion'?: (number | string | Long);
}

export interface DeletePolicyRequest__Output {
  'name': (string);
  /**
   * Compare-and-swap as in ApplyPolicyRequest. 0 = no check.
   */
  'expectedVersion': (number);
}
