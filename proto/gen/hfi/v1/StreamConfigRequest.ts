// Original file: proto/hfi/v1/config_discovery.proto

import type { Subscribe as _hfi_v1_Subscribe, Subscribe__Output as _hfi_v1_Subscribe__Output } from '../../hfi/v1/Subscribe.ts';
import type { Ack as _hfi_v1_Ack, Ack__Output as _hfi_v1_Ack__Output } from '../../hfi/v1/Ack.ts';
import type { Nack as _hfi_v1_Nack, Nack__Output as _hfi_v1_Nack__Output } from '../../hfi/v1/Nack.ts';
import type { Serving as _hfi_v1_Serving, Serving__Output as _hfi_v1_Serving__Output } from '../../hfi/v1/Serving.ts';

/**
 * Exactly one of subscribe (first message only), ack, nack, serving.
 */
export interface StreamConfigRequest {
  'subscribe'?: (_hfi_v1_Subscribe | null);
  'ack'?: (_hfi_v1_Ack | null);
  'nack'?: (_hfi_v1_Nack | null);
  'serving'?: (_hfi_v1_Serving | null);
}

/**
 * Exactly one of subscribe (first message only), ack, nack, serving.
 */
export interface StreamConfigRequest__Output {
  'subscribe': (_hfi_v1_Subscribe__Output | null);
  'ack': (_hfi_v1_Ack__Output | null);
  'nack': (_hfi_v1_Nack__Output | null);
  'serving': (_hfi_v1_Serving__Output | null);
}
