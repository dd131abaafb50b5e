// Original file: proto/hfi/v1/policy_service.proto

import type { Policy as _hfi_v1_Policy, Policy__Output as _hfi_v1_Policy__Output } from '../../hfi/v1/Policy.ts';
import type { ApplyResult as _hfi_v1_ApplyResult, ApplyResult__Output as _hfi_v1_ApplyResult__Output } from '../../hfi/v1/ApplyResult.ts';

export interface ApplyPolicyResponse {
  'policy'?: (_hfi_v1_Policy | null);
  'result'?: (_hfi_v1_ApplyResult);
}

export interface ApplyPolicyResponse__Output {
  'policy': (_hfi_v1_Policy__Output | null);
  'result': (_hfi_v1_ApplyResult__Output);
}
