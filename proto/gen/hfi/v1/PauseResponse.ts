// Original file: proto/hfi/v1/policy_service.proto

import type { PauseState as _hfi_v1_PauseState, PauseState__Output as _hfi_v1_PauseState__Output } from '../../hfi/v1/PauseState.ts';

export interface PauseResponse {
  'state'?: (_hfi_v1_PauseState | null);
}

export interface PauseResponse__Output {
  'state': (_hfi_v1_PauseState__Output | null);
}
