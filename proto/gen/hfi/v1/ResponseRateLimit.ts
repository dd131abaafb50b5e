// Original file: proto/hfi/v1/policy.proto


export interface ResponseRateLimit {
  /**
   * Response body bandwidth in KiB per second (1 KiB = 1024 bytes).
   */
  'kbps'?: (number);
}

export interface ResponseRateLimit__Output {
  /**
   * Response body bandwidth in KiB per second (1 KiB = 1024 bytes).
   */
  'kbps': (number);
}
