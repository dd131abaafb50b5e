// Original file: proto/hfi/v1/policy_service.proto

import type { FaultTotals as _hfi_v1_FaultTotals, FaultTotals__Output as _hfi_v1_FaultTotals__Output } from '../../hfi/v1/FaultTotals.ts';
import type { Long } from '@grpc/proto-loader';

export interface FaultCountStatus {
  'service'?: (string);
  'namespace'?: (string);
  /**
   * Set for one proxy's counts since its stream connected; empty for the
   * per-service totals.
   */
  'proxyId'?: (string);
  'rule'?: (number);
  'abortStatus'?: (number);
  'totals'?: (_hfi_v1_FaultTotals | null);
  'sinceUnixMs'?: (number | string | Long);
}

export interface FaultCountStatus__Output {
  'service': (string);
  'namespace': (string);
  /**
   * Set for one proxy's counts since its stream connected; empty for the
   * per-service totals.
   */
  'proxyId': (string);
  'rule': (number);
  'abortStatus': (number);
  'totals': (_hfi_v1_FaultTotals__Output | null);
  'sinceUnixMs': (number);
}
