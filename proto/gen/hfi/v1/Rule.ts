// Original file: proto/hfi/v1/policy.proto

import type { RequestMatch as _hfi_v1_RequestMatch, RequestMatch__Output as _hfi_v1_RequestMatch__Output } from '../../hfi/v1/RequestMatch.ts';
import type { Fault as _hfi_v1_Fault, Fault__Output as _hfi_v1_Fault__Output } from '../../hfi/v1/Fault.ts';

export interface Rule {
  /**
   * Absent: the rule applies to every request.
   */
  'match'?: (_hfi_v1_RequestMatch | null);
  'fault'?: (_hfi_v1_Fault | null);
}

export interface Rule__Output {
  /**
   * Absent: the rule applies to every request.
   */
  'match': (_hfi_v1_RequestMatch__Output | null);
  'fault': (_hfi_v1_Fault__Output | null);
}
