// Original file: proto/hfi/v1/policy_service.proto

import type { PolicyStatus as _hfi_v1_PolicyStatus, PolicyStatus__Output as _hfi_v1_PolicyStatus__Output } from '../../hfi/v1/PolicyStatus.ts';
import type { ProxyStatus as _hfi_v1_ProxyStatus, ProxyStatus__Output as _hfi_v1_ProxyStatus__Output } from '../../hfi/v1/ProxyStatus.ts';
import type { InvalidPolicy as _hfi_v1_InvalidPolicy, InvalidPolicy__Output as _hfi_v1_InvalidPolicy__Output } from '../../hfi/v1/InvalidPolicy.ts';

export interface GetPolicyStatusResponse {
  'policies'?: (_hfi_v1_PolicyStatus)[];
  'proxies'?: (_hfi_v1_ProxyStatus)[];
  /**
   * Non-empty when the proxies of other replicas could not be read (store
   * down): the reason. The report then covers this replica's proxies only.
   */
  'partial'?: (string);
  /**
   * Invalid entries in the store (see ListPoliciesResponse.invalid_policies);
   * only when every policy is asked for.
   */
  'invalidPolicies'?: (_hfi_v1_InvalidPolicy)[];
  /**
   * Proxies this report could list (this replica's, plus other replicas'
   * laggards) before proxy_limit cut `proxies`.
   */
  'proxiesTotal'?: (number);
}

export interface GetPolicyStatusResponse__Output {
  'policies': (_hfi_v1_PolicyStatus__Output)[];
  'proxies': (_hfi_v1_ProxyStatus__Output)[];
  /**
   * Non-empty when the proxies of other replicas could not be read (store
   * down): the reason. The report then covers this replica's proxies only.
   */
  'partial': (string);
  /**
   * Invalid entries in the store (see ListPoliciesResponse.invalid_policies);
   * only when every policy is asked for.
   */
  'invalidPolicies': (_hfi_v1_InvalidPolicy__Output)[];
  /**
   * Proxies this report could list (this replica's, plus other replicas'
   * laggards) before proxy_limit cut `proxies`.
   */
  'proxiesTotal': (number);
}
