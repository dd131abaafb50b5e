// Original file: proto/hfi/v1/config_discovery.proto

import type { Rule as _hfi_v1_Rule, Rule__Output as _hfi_v1_Rule__Output } from '../../hfi/v1/Rule.ts';
import type { Long } from '@grpc/proto-loader';

export interface SnapshotPolicy {
  'name'?: (string);
  /**
   * Normalised (no delay_ms shorthand), in evaluation order.
   */
  'rules'?: (_hfi_v1_Rule)[];
  /**
   * When the policy was last applied; rule durations count from here.
   */
  'appliedAtUnixMs'?: (number | string | Long);
  'version'?: (number | string | Long);
  /**
   * PolicySpec.direction normalised: "inbound" or "outbound". Each filter
   * applies only the policies of the direction it runs in.
   */
  'direction'?: (string);
  /**
   * Paused (`hfi pause`): the filter keeps the policy but injects nothing
   * for it, and releases the requests it is holding at once.
   */
  'paused'?: (boolean);
}

export interface SnapshotPolicy__Output {
  'name': (string);
  /**
   * Normalised (no delay_ms shorthand), in evaluation order.
   */
  'rules': (_hfi_v1_Rule__Output)[];
  /**
   * When the policy was last applied; rule durations count from here.
   */
  'appliedAtUnixMs': (number);
  'version': (number);
  /**
   * PolicySpec.direction normalised: "inbound" or "outbound". Each filter
   * applies only the policies of the direction it runs in.
   */
  'direction': (string);
  /**
   * Paused (`hfi pause`): the filter keeps the policy but injects nothing
   * for it, and releases the requests it is holding at once.
   */
  'paused': (boolean);
}
