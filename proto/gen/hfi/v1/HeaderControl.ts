// Original file: proto/hfi/v1/policy.proto


export interface HeaderControl {
  /**
   * Longest delay a request may ask for (x-hfi-delay-ms is cut to it);
   * 0 = delays may not be asked for.
   */
  'maxDelayMs'?: (number);
  /**
   * Requests may ask for an abort with x-hfi-abort-status (200-599).
   */
  'allowAbort'?: (boolean);
}

export interface HeaderControl__Output {
  /**
   * Longest delay a request may ask for (x-hfi-delay-ms is cut to it);
   * 0 = delays may not be asked for.
   */
  'maxDelayMs': (number);
  /**
   * Requests may ask for an abort with x-hfi-abort-status (200-599).
   */
  'allowAbort': (boolean);
}
