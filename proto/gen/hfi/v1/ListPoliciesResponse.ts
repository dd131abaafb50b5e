// Original file: proto/hfi/v1/policy_service.proto

import type { Policy as _hfi_v1_Policy, Policy__Output as _hfi_v1_Policy__Output } from '../../hfi/v1/Policy.ts';
import type { Long } from '@grpc/proto-loader';

export interface ListPoliciesResponse {
  /**
   * Sorted by name.
   */
  'policies'?: (_hfi_v1_Policy)[];
  /**
   * Store revision the list was read at.
   */
  'revision'?: (number | string | Long);
}

export interface ListPoliciesResponse__Output {
  /**
   * Sorted by name.
   */
  'policies': (_hfi_v1_Policy__Output)[];
  /**
   * Store revision the list was read at.
   */
  'revision': (number);
}
