// Original file: proto/hfi/v1/policy_service.proto


export interface ListPoliciesRequest {
}

export interface ListPoliciesRequest__Output {
}
