// Original file: proto/hfi/v1/policy.proto


/**
 * Every whole millisecond in [min_ms, max_ms] equally likely.
 */
export interface UniformDelay {
  'minMs'?: (number);
  'maxMs'?: (number);
}

/**
 * Every whole millisecond in [min_ms, max_ms] equally likely.
 */
export interface UniformDelay__Output {
  'minMs': (number);
  'maxMs': (number);
}
