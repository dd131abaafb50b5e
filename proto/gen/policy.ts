import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AbortFault as _hfi_v1_AbortFault, AbortFault__Output as _hfi_v1_AbortFault__Output } from './hfi/v1/AbortFault.ts';
import type { DelayFault as _hfi_v1_DelayFault, DelayFault__Output as _hfi_v1_DelayFault__Output } from './hfi/v1/DelayFault.ts';
import type { Destination as _hfi_v1_Destination, Destination__Output as _hfi_v1_Destination__Output } from './hfi/v1/Destination.ts';
import type { Fault as _hfi_v1_Fault, Fault__Output as _hfi_v1_Fault__Output } from './hfi/v1/Fault.ts';
import type { GrpcMatch as _hfi_v1_GrpcMatch, GrpcMatch__Output as _hfi_v1_GrpcMatch__Output } from './hfi/v1/GrpcMatch.ts';
import type { HeaderControl as _hfi_v1_HeaderControl, HeaderControl__Output as _hfi_v1_HeaderControl__Output } from './hfi/v1/HeaderControl.ts';
import type { HeaderMatch as _hfi_v1_HeaderMatch, HeaderMatch__Output as _hfi_v1_HeaderMatch__Output } from './hfi/v1/HeaderMatch.ts';
import type { HeaderMutation as _hfi_v1_HeaderMutation, HeaderMutation__Output as _hfi_v1_HeaderMutation__Output } from './hfi/v1/HeaderMutation.ts';
import type { HeaderValue as _hfi_v1_HeaderValue, HeaderValue__Output as _hfi_v1_HeaderValue__Output } from './hfi/v1/HeaderValue.ts';
import type { LognormalDelay as _hfi_v1_LognormalDelay, LognormalDelay__Output as _hfi_v1_LognormalDelay__Output } from './hfi/v1/LognormalDelay.ts';
import type { Metadata as _hfi_v1_Metadata, Metadata__Output as _hfi_v1_Metadata__Output } from './hfi/v1/Metadata.ts';
import type { Policy as _hfi_v1_Policy, Policy__Output as _hfi_v1_Policy__Output } from './hfi/v1/Policy.ts';
import type { PolicySpec as _hfi_v1_PolicySpec, PolicySpec__Output as _hfi_v1_PolicySpec__Output } from './hfi/v1/PolicySpec.ts';
import type { QueryParamMatch as _hfi_v1_QueryParamMatch, QueryParamMatch__Output as _hfi_v1_QueryParamMatch__Output } from './hfi/v1/QueryParamMatch.ts';
import type { RequestMatch as _hfi_v1_RequestMatch, RequestMatch__Output as _hfi_v1_RequestMatch__Output } from './hfi/v1/RequestMatch.ts';
import type { ResponseFault as _hfi_v1_ResponseFault, ResponseFault__Output as _hfi_v1_ResponseFault__Output } from './hfi/v1/ResponseFault.ts';
import type { ResponseRateLimit as _hfi_v1_ResponseRateLimit, ResponseRateLimit__Output as _hfi_v1_ResponseRateLimit__Output } from './hfi/v1/ResponseRateLimit.ts';
import type { Rule as _hfi_v1_Rule, Rule__Output as _hfi_v1_Rule__Output } from './hfi/v1/Rule.ts';
import type { Selector as _hfi_v1_Selector, Selector__Output as _hfi_v1_Selector__Output } from './hfi/v1/Selector.ts';
import type { SourceMatch as _hfi_v1_SourceMatch, SourceMatch__Output as _hfi_v1_SourceMatch__Output } from './hfi/v1/SourceMatch.ts';
import type { StatusMatch as _hfi_v1_StatusMatch, StatusMatch__Output as _hfi_v1_StatusMatch__Output } from './hfi/v1/StatusMatch.ts';
import type { StringMatch as _hfi_v1_StringMatch, StringMatch__Output as _hfi_v1_StringMatch__Output } from './hfi/v1/StringMatch.ts';
import type { UniformDelay as _hfi_v1_UniformDelay, UniformDelay__Output as _hfi_v1_UniformDelay__Output } from './hfi/v1/UniformDelay.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  hfi: {
    v1: {
      AbortFault: MessageTypeDefinition<_hfi_v1_AbortFault, _hfi_v1_AbortFault__Output>
      DelayFault: MessageTypeDefinition<_hfi_v1_DelayFault, _hfi_v1_DelayFault__Output>
      Destination: MessageTypeDefinition<_hfi_v1_Destination, _hfi_v1_Destination__Output>
      Fault: MessageTypeDefinition<_hfi_v1_Fault, _hfi_v1_Fault__Output>
      GrpcMatch: MessageTypeDefinition<_hfi_v1_GrpcMatch, _hfi_v1_GrpcMatch__Output>
      HeaderControl: MessageTypeDefinition<_hfi_v1_HeaderControl, _hfi_v1_HeaderControl__Output>
      HeaderMatch: MessageTypeDefinition<_hfi_v1_HeaderMatch, _hfi_v1_HeaderMatch__Output>
      HeaderMutation: MessageTypeDefinition<_hfi_v1_HeaderMutation, _hfi_v1_HeaderMutation__Output>
      HeaderValue: MessageTypeDefinition<_hfi_v1_HeaderValue, _hfi_v1_HeaderValue__Output>
      LognormalDelay: MessageTypeDefinition<_hfi_v1_LognormalDelay, _hfi_v1_LognormalDelay__Output>
      Metadata: MessageTypeDefinition<_hfi_v1_Metadata, _hfi_v1_Metadata__Output>
      Policy: MessageTypeDefinition<_hfi_v1_Policy, _hfi_v1_Policy__Output>
      PolicySpec: MessageTypeDefinition<_hfi_v1_PolicySpec, _hfi_v1_PolicySpec__Output>
      QueryParamMatch: MessageTypeDefinition<_hfi_v1_QueryParamMatch, _hfi_v1_QueryParamMatch__Output>
      RequestMatch: MessageTypeDefinition<_hfi_v1_RequestMatch, _hfi_v1_RequestMatch__Output>
      ResponseFault: MessageTypeDefinition<_hfi_v1_ResponseFault, _hfi_v1_ResponseFault__Output>
      ResponseRateLimit: MessageTypeDefinition<_hfi_v1_ResponseRateLimit, _hfi_v1_ResponseRateLimit__Output>
      Rule: MessageTypeDefinition<_hfi_v1_Rule, _hfi_v1_Rule__Output>
      Selector: MessageTypeDefinition<_hfi_v1_Selector, _hfi_v1_Selector__Output>
      SourceMatch: MessageTypeDefinition<_hfi_v1_SourceMatch, _hfi_v1_SourceMatch__Output>
      StatusMatch: MessageTypeDefinition<_hfi_v1_StatusMatch, _hfi_v1_StatusMatch__Output>
      StringMatch: MessageTypeDefinition<_hfi_v1_StringMatch, _hfi_v1_StringMatch__Output>
      UniformDelay: MessageTypeDefinition<_hfi_v1_UniformDelay, _hfi_v1_UniformDelay__Output>
    }
  }
}

