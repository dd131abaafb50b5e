// Original file: proto/hfi/v1/policy.proto

import type { UniformDelay as _hfi_v1_UniformDelay, UniformDelay__Output as _hfi_v1_UniformDelay__Output } from '../../hfi/v1/UniformDelay.ts';
import type { LognormalDelay as _hfi_v1_LognormalDelay, LognormalDelay__Output as _hfi_v1_LognormalDelay__Output } from '../../hfi/v1/LognormalDelay.ts';

/**
 * Exactly one of fixed_delay_ms, uniform, lognormal. The filter draws a
 * distribution's delay per faulted request.
 */
export interface DelayFault {
  'fixedDelayMs'?: (number);
  'uniform'?: (_hfi_v1_UniformDelay | null);
  'lognormal'?: (_hfi_v1_LognormalDelay | null);
}

/**
 * Exactly one of fixed_delay_ms, uniform, lognormal. The filter draws a
 * distribution's delay per faulted request.
 */
export interface DelayFault__Output {
  'fixedDelayMs': (number);
  'uniform': (_hfi_v1_UniformDelay__Output | null);
  'lognormal': (_hfi_v1_LognormalDelay__Output | null);
}
