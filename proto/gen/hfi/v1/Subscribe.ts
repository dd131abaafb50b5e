// Original file: proto/hfi/v1/config_discovery.proto

import type { Identity as _hfi_v1_Identity, Identity__Output as _hfi_v1_Identity__Output } from '../../hfi/v1/Identity.ts';

export interface Subscribe {
  'identity'?: (_hfi_v1_Identity | null);
  /**
   * Version of the snapshot the filter holds (empty on first start).
   */
  'lastVersion'?: (string);
  /**
   * Optional stream token (when the server requires one).
   */
  'token'?: (string);
}

export interface Subscribe__Output {
  'identity': (_hfi_v1_Identity__Output | null);
  /**
   * Version of the snapshot the filter holds (empty on first start).
   */
  'lastVersion': (string);
  /**
   * Optional stream token (when the server requires one).
   */
  'token': (string);
}
