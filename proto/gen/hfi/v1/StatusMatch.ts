// Original file: proto/hfi/v1/policy.proto


/**
 * Holds when the status is one of codes, or within [min, max] when given.
 */
export interface StatusMatch {
  'codes'?: (number)[];
  'min'?: (number);
  'max'?: (number);
}

/**
 * Holds when the status is one of codes, or within [min, max] when given.
 */
export interface StatusMatch__Output {
  'codes': (number)[];
  'min': (number);
  'max': (number);
}
