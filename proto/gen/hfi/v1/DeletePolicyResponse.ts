// Original file: proto/hfi/v1/policy_service.proto

import type { Policy as _hfi_v1_Policy, Policy__Output as _hfi_v1_Policy__Output } from '../../hfi/v1/Policy.ts';
import type { Long } from '@grpc/proto-loader';

export interface DeletePolicyResponse {
  /**
   * The policy as it was before deletion.
   */
  'policy'?: (_hfi_v1_Policy | null);
  'revision'?: (number | string | Long);
}

export interface DeletePolicyResponse__Output {
  /**
   * The policy as it was before deletion.
   */
  'policy': (_hfi_v1_Policy__Output | null);
  'revision': (number);
}
