// Original file: proto/hfi/v1/policy_service.proto

import type { Policy as _hfi_v1_Policy, Policy__Output as _hfi_v1_Policy__Output } from '../../hfi/v1/Policy.ts';
import type { InvalidPolicy as _hfi_v1_InvalidPolicy, InvalidPolicy__Output as _hfi_v1_InvalidPolicy__Output } from '../../hfi/v1/InvalidPolicy.ts';
import type { Long } from '@grpc/proto-loader';

export interface DeletePolicyResponse {
  /**
   * The policy as it was before deletion (only name and version when it was
   * an invalid entry).
   */
  'policy'?: (_hfi_v1_Policy | null);
  'revision'?: (number | string | Long);
  /**
   * Set when the deleted value was an invalid entry.
   */
  'invalid'?: (_hfi_v1_InvalidPolicy | null);
}

export interface DeletePolicyResponse__Output {
  /**
   * The policy as it was before deletion (only name and version when it was
   * an invalid entry).
   */
  'policy': (_hfi_v1_Policy__Output | null);
  'revision': (number);
  /**
   * Set when the deleted value was an invalid entry.
   */
  'invalid': (_hfi_v1_InvalidPolicy__Output | null);
}
