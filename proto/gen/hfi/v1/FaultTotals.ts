// Original file: proto/hfi/v1/policy_service.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Counts of one policy rule. Defined here (not in config_discovery.proto)
 * because status reports them too.
 */
export interface FaultTotals {
  /**
   * Requests the rule matched.
   */
  'matched'?: (number | string | Long);
  'aborted'?: (number | string | Long);
  'delayed'?: (number | string | Long);
  /**
   * Sum of the injected delays.
   */
  'delayMs'?: (number | string | Long);
  /**
   * Matched but not injected: the percentage roll said no.
   */
  'skippedPercentage'?: (number | string | Long);
  /**
   * Matched but not injected: max_active_faults requests were already held.
   */
  'skippedMaxActive'?: (number | string | Long);
}

/**
 * Counts of one policy rule. Defined here (not in config_discovery.proto)
 * because status reports them too.
 */
export interface FaultTotals__Output {
  /**
   * Requests the rule matched.
   */
  'matched': (number);
  'aborted': (number);
  'delayed': (number);
  /**
   * Sum of the injected delays.
   */
  'delayMs': (number);
  /**
   * Matched but not injected: the percentage roll said no.
   */
  'skippedPercentage': (number);
  /**
   * Matched but not injected: max_active_faults requests were already held.
   */
  'skippedMaxActive': (number);
}
