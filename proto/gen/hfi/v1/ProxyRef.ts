// Original file: proto/hfi/v1/policy_service.proto

import type { Identity as _hfi_v1_Identity, Identity__Output as _hfi_v1_Identity__Output } from '../../hfi/v1/Identity.ts';

export interface ProxyRef {
  'identity'?: (_hfi_v1_Identity | null);
  'error'?: (string);
}

export interface ProxyRef__Output {
  'identity': (_hfi_v1_Identity__Output | null);
  'error': (string);
}
