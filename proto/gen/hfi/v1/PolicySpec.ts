// Original file: proto/hfi/v1/policy.proto

import type { Selector as _hfi_v1_Selector, Selector__Output as _hfi_v1_Selector__Output } from '../../hfi/v1/Selector.ts';
import type { Rule as _hfi_v1_Rule, Rule__Output as _hfi_v1_Rule__Output } from '../../hfi/v1/Rule.ts';

export interface PolicySpec {
  'selector'?: (_hfi_v1_Selector | null);
  /**
   * Evaluated in order; the first rule whose match holds decides the request.
   */
  'rules'?: (_hfi_v1_Rule)[];
  /**
   * Higher priority policies are evaluated first; ties are broken by name.
   */
  'priority'?: (number);
  /**
   * Which traffic of the selected workloads the policy acts on: "inbound"
   * (requests they receive; the default when empty) or "outbound" (calls
   * they make, matched with RequestMatch.destination).
   */
  'direction'?: (string);
}

export interface PolicySpec__Output {
  'selector': (_hfi_v1_Selector__Output | null);
  /**
   * Evaluated in order; the first rule whose match holds decides the request.
   */
  'rules': (_hfi_v1_Rule__Output)[];
  /**
   * Higher priority policies are evaluated first; ties are broken by name.
   */
  'priority': (number);
  /**
   * Which traffic of the selected workloads the policy acts on: "inbound"
   * (requests they receive; the default when empty) or "outbound" (calls
   * they make, matched with RequestMatch.destination).
   */
  'direction': (string);
}
