// Original file: proto/hfi/v1/policy_service.proto

import type { Policy as _hfi_v1_Policy, Policy__Output as _hfi_v1_Policy__Output } from '../../hfi/v1/Policy.ts';

export interface GetPolicyResponse {
  'policy'?: (_hfi_v1_Policy | null);
}

export interface GetPolicyResponse__Output {
  'policy': (_hfi_v1_Policy__Output | null);
}
