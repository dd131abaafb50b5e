// Original file: proto/hfi/v1/policy_service.proto


export interface GetPolicyStatusRequest {
  /**
   * Empty: every policy.
   */
  'name'?: (string);
  /**
   * Most proxies listed in `proxies` and in each policy's acked / nacked /
   * pending lists (first by proxy id); 0 = 100. At most 10000. The counts
   * (targeted_proxies, acked_count, ...) are always exact.
   */
  'proxyLimit'?: (number);
}

export interface GetPolicyStatusRequest__Output {
  /**
   * Empty: every policy.
   */
  'name': (string);
  /**
   * Most proxies listed in `proxies` and in each policy's acked / nacked /
   * pending lists (first by proxy id); 0 = 100. At most 10000. The counts
   * (targeted_proxies, acked_count, ...) are always exact.
   */
  'proxyLimit': (number);
}
