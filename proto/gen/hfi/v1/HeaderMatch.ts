// Original file: proto/hfi/v1/policy.proto


/**
 * Header names are compared case-insensitively.
 */
export interface HeaderMatch {
  'name'?: (string);
  'exact'?: (string);
  'prefix'?: (string);
  'regex'?: (string);
  /**
   * true: the header must be present; false: it must be absent.
   */
  'present'?: (boolean);
  'kind'?: "exact"|"prefix"|"regex"|"present";
}

/**
 * Header names are compared case-insensitively.
 */
export interface HeaderMatch__Output {
  'name': (string);
  'exact'?: (string);
  'prefix'?: (string);
  'regex'?: (string);
  /**
   * true: the header must be present; false: it must be absent.
   */
  'present'?: (boolean);
  'kind'?: "exact"|"prefix"|"regex"|"present";
}
