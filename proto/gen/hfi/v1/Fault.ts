// Original file: proto/hfi/v1/policy.proto

import type { DelayFault as _hfi_v1_DelayFault, DelayFault__Output as _hfi_v1_DelayFault__Output } from '../../hfi/v1/DelayFault.ts';
import type { AbortFault as _hfi_v1_AbortFault, AbortFault__Output as _hfi_v1_AbortFault__Output } from '../../hfi/v1/AbortFault.ts';
import type { HeaderControl as _hfi_v1_HeaderControl, HeaderControl__Output as _hfi_v1_HeaderControl__Output } from '../../hfi/v1/HeaderControl.ts';
import type { ResponseFault as _hfi_v1_ResponseFault, ResponseFault__Output as _hfi_v1_ResponseFault__Output } from '../../hfi/v1/ResponseFault.ts';
import type { ResponseRateLimit as _hfi_v1_ResponseRateLimit, ResponseRateLimit__Output as _hfi_v1_ResponseRateLimit__Output } from '../../hfi/v1/ResponseRateLimit.ts';

export interface Fault {
  /**
   * Share of matching requests that get the fault, 0-100, resolution 1e-4
   * (one in a million). 0 = never, 100 = every request.
   */
  'percentage'?: (number | string);
  'delay'?: (_hfi_v1_DelayFault | null);
  'abort'?: (_hfi_v1_AbortFault | null);
  /**
   * Wait this long before injecting ("late-stage" faults).
   */
  'startDelayMs'?: (number);
  /**
   * The rule stops injecting this many seconds after the policy was applied
   * (0 = until deleted).
   */
  'durationSeconds'?: (number);
  /**
   * Shorthand for delay.fixed_delay_ms; normalised away by the server.
   */
  'delayMs'?: (number);
  /**
   * Callers choose this request's fault with x-hfi-delay-ms,
   * x-hfi-abort-status and x-hfi-percentage, within these bounds. Requests
   * without those headers get the rule's other faults, if any.
   */
  'headerControl'?: (_hfi_v1_HeaderControl | null);
  /**
   * Rewrite the upstream's response (the request reaches the upstream).
   */
  'response'?: (_hfi_v1_ResponseFault | null);
  /**
   * Throttle the response body (as Envoy's fault filter response_rate_limit).
   */
  'responseRateLimit'?: (_hfi_v1_ResponseRateLimit | null);
}

export interface Fault__Output {
  /**
   * Share of matching requests that get the fault, 0-100, resolution 1e-4
   * (one in a million). 0 = never, 100 = every request.
   */
  'percentage': (number);
  'delay': (_hfi_v1_DelayFault__Output | null);
  'abort': (_hfi_v1_AbortFault__Output | null);
  /**
   * Wait this long before injecting ("late-stage" faults).
   */
  'startDelayMs': (number);
  /**
   * The rule stops injecting this many seconds after the policy was applied
   * (0 = until deleted).
   */
  'durationSeconds': (number);
  /**
   * Shorthand for delay.fixed_delay_ms; normalised away by the server.
   */
  'delayMs': (number);
  /**
   * Callers choose this request's fault with x-hfi-delay-ms,
   * x-hfi-abort-status and x-hfi-percentage, within these bounds. Requests
   * without those headers get the rule's other faults, if any.
   */
  'headerControl': (_hfi_v1_HeaderControl__Output | null);
  /**
   * Rewrite the upstream's response (the request reaches the upstream).
   */
  'response': (_hfi_v1_ResponseFault__Output | null);
  /**
   * Throttle the response body (as Envoy's fault filter response_rate_limit).
   */
  'responseRateLimit': (_hfi_v1_ResponseRateLimit__Output | null);
}
