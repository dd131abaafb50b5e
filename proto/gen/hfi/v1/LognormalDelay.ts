// Original file: proto/hfi/v1/policy.proto


/**
 * Heavy-tailed: a lognormal distribution with this median and 99th
 * percentile (draws above the delay limit are cut to it).
 */
export interface LognormalDelay {
  'p50Ms'?: (number);
  'p99Ms'?: (number);
}

/**
 * Heavy-tailed: a lognormal distribution with this median and 99th
 * percentile (draws above the delay limit are cut to it).
 */
export interface LognormalDelay__Output {
  'p50Ms': (number);
  'p99Ms': (number);
}
