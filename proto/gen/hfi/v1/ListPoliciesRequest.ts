// Original file: proto/hfi/v1/policy_service.proto


export interface ListPoliciesRequest {
  /**
   * At most this many entries (policies and invalid entries) per response;
   * 0 = no count limit. Whatever it is, a response stops at about 3 MiB so it
   * stays under gRPC's 4 MiB message limit: follow next_page_token.
   */
  'pageSize'?: (number);
  /**
   * next_page_token of the previous response; empty = from the first name.
   */
  'pageToken'?: (string);
}

export interface ListPoliciesRequest__Output {
  /**
   * At most this many entries (policies and invalid entries) per response;
   * 0 = no count limit. Whatever it is, a response stops at about 3 MiB so it
   * stays under gRPC's 4 MiB message limit: follow next_page_token.
   */
  'pageSize': (number);
  /**
   * next_page_token of the previous response; empty = from the first name.
   */
  'pageToken': (string);
}
