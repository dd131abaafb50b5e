// Original file: proto/hfi/v1/policy.proto

import type { Metadata as _hfi_v1_Metadata, Metadata__Output as _hfi_v1_Metadata__Output } from '../../hfi/v1/Metadata.ts';
import type { PolicySpec as _hfi_v1_PolicySpec, PolicySpec__Output as _hfi_v1_PolicySpec__Output } from '../../hfi/v1/PolicySpec.ts';

/**
 * A named fault-injection policy: who it targets (selector) and what it does
 * to which requests (rules).
 */
export interface Policy {
  'metadata'?: (_hfi_v1_Metadata | null);
  'spec'?: (_hfi_v1_PolicySpec | null);
}

/**
 * A named fault-injection policy: who it targets (selector) and what it does
 * to which requests (rules).
 */
export interface Policy__Output {
  'metadata': (_hfi_v1_Metadata__Output | null);
  'spec': (_hfi_v1_PolicySpec__Output | null);
}
