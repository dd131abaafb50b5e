// Original file: proto/hfi/v1/policy_service.proto


export interface GetPolicyRequest {
  'name'?: (string);
}

export interface GetPolicyRequest__Output {
  'name': (string);
}
