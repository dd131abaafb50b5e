// Original file: proto/hfi/v1/policy.proto


export interface QueryParamMatch {
  'name'?: (string);
  'exact'?: (string);
  'prefix'?: (string);
  'regex'?: (string);
  'present'?: (boolean);
  'kind'?: "exact"|"prefix"|"regex"|"present";
}

export interface QueryParamMatch__Output {
  'name': (string);
  'exact'?: (string);
  'prefix'?: (string);
  'regex'?: (string);
  'present'?: (boolean);
  'kind'?: "exact"|"prefix"|"regex"|"present";
}
