// Original file: proto/hfi/v1/policy_service.proto

import type { Policy as _hfi_v1_Policy, Policy__Output as _hfi_v1_Policy__Output } from '../../hfi/v1/Policy.ts';
import type { Long } from '@grpc/proto-loader';

export interface ApplyPolicyRequest {
  'policy'?: (_hfi_v1_Policy | null);
  /**
   * Compare-and-swap: apply only if the stored version equals this
   * (ABORTED otherwise). 0 = no check.
   */
  'expectedVersion'?: (number | string | Long);
  /**
   * Fail with ALREADY_EXISTS instead of updating an existing policy.
   */
  'createOnly'?: (boolean);
  /**
   * Validate and report what would change; store nothing.
   */
  'dryRun'?: (boolean);
}

export interface ApplyPolicyRequest__Output {
  'policy': (_hfi_v1_Policy__Output | null);
  /**
   * Compare-and-swap: apply only if the stored version equals this
   * (ABORTED otherwise). 0 = no check.
   */
  'expectedVersion': (number);
  /**
   * Fail with ALREADY_EXISTS instead of updating an existing policy.
   */
  'createOnly': (boolean);
  /**
   * Validate and report what would change; store nothing.
   */
  'dryRun': (boolean);
}
