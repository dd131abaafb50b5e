// Original file: proto/hfi/v1/policy.proto


/**
 * Exactly one of exact, prefix, regex. Regex: the linear-time subset
 * documented in the README, unanchored search unless ^/$ are used.
 */
export interface StringMatch {
  'exact'?: (string);
  'prefix'?: (string);
  'regex'?: (string);
  'kind'?: "exact"|"prefix"|"regex";
}

/**
 * Exactly one of exact, prefix, regex. Regex: the linear-time subset
 * documented in the README, unanchored search unless ^/$ are used.
 */
export interface StringMatch__Output {
  'exact'?: (string);
  'prefix'?: (string);
  'regex'?: (string);
  'kind'?: "exact"|"prefix"|"regex";
}
