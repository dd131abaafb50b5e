// Original file: proto/hfi/v1/policy.proto


export interface DelayFault {
  'fixedDelayMs'?: (number);
}

export interface DelayFault__Output {
  'fixedDelayMs': (number);
}
