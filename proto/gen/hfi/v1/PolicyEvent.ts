// Original file: proto/hfi/v1/policy_service.proto

import type { Policy as _hfi_v1_Policy, Policy__Output as _hfi_v1_Policy__Output } from '../../hfi/v1/Policy.ts';
import type { Long } from '@grpc/proto-loader';

// Original file: proto/hfi/v1/policy_service.proto

export const _hfi_v1_PolicyEvent_Type = {
  TYPE_UNSPECIFIED: 'TYPE_UNSPECIFIED',
  TYPE_PUT: 'TYPE_PUT',
  TYPE_DELETE: 'TYPE_DELETE',
} as const;

export type _hfi_v1_PolicyEvent_Type =
  | 'TYPE_UNSPECIFIED'
  | 0
  | 'TYPE_PUT'
  | 1
  | 'TYPE_DELETE'
  | 2

export type _hfi_v1_PolicyEvent_Type__Output = typeof _hfi_v1_PolicyEvent_Type[keyof typeof _hfi_v1_PolicyEvent_Type]

export interface PolicyEvent {
  'type'?: (_hfi_v1_PolicyEvent_Type);
  /**
   * For DELETE: the name, and the last known content when available.
   */
  'policy'?: (_hfi_v1_Policy | null);
  'revision'?: (number | string | Long);
}

export interface PolicyEvent__Output {
  'type': (_hfi_v1_PolicyEvent_Type__Output);
  /**
   * For DELETE: the name, and the last known content when available.
   */
  'policy': (_hfi_v1_Policy__Output | null);
  'revision': (number);
}
