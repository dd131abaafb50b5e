// Original file: proto/hfi/v1/config_discovery.proto

import type { FaultTotals as _hfi_v1_FaultTotals, FaultTotals__Output as _hfi_v1_FaultTotals__Output } from '../../hfi/v1/FaultTotals.ts';

export interface FaultCount {
  'policy'?: (string);
  /**
   * Index of the rule in the policy.
   */
  'rule'?: (number);
  /**
   * abort.http_status of the rule; 0 when it does not abort.
   */
  'abortStatus'?: (number);
  /**
   * FaultTotals is in policy_service.proto (status reports it too).
   */
  'total'?: (_hfi_v1_FaultTotals | null);
  'previous'?: (_hfi_v1_FaultTotals | null);
}

export interface FaultCount__Output {
  'policy': (string);
  /**
   * Index of the rule in the policy.
   */
  'rule': (number);
  /**
   * abort.http_status of the rule; 0 when it does not abort.
   */
  'abortStatus': (number);
  /**
   * FaultTotals is in policy_service.proto (status reports it too).
   */
  'total': (_hfi_v1_FaultTotals__Output | null);
  'previous': (_hfi_v1_FaultTotals__Output | null);
}
