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
  /**
   * The VM has handled an HTTP request since it started. Envoy runs one VM
   * on its main thread that never does (and no ABI call tells it apart from
   * a worker's), so a stream that never reports serving is shown as idle.
   */
  'serving'?: (boolean);
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
  /**
   * The VM has handled an HTTP request since it started. Envoy runs one VM
   * on its main thread that never does (and no ABI call tells it apart from
   * a worker's), so a stream that never reports serving is shown as idle.
   */
  'serving': (boolean);
}
