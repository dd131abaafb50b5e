// Original file: proto/hfi/v1/config_discovery.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ConfigSnapshot as _hfi_v1_ConfigSnapshot, ConfigSnapshot__Output as _hfi_v1_ConfigSnapshot__Output } from '../../hfi/v1/ConfigSnapshot.ts';
import type { StreamConfigRequest as _hfi_v1_StreamConfigRequest, StreamConfigRequest__Output as _hfi_v1_StreamConfigRequest__Output } from '../../hfi/v1/StreamConfigRequest.ts';

export interface ConfigDiscoveryServiceClient extends grpc.Client {
  StreamConfig(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_hfi_v1_StreamConfigRequest, _hfi_v1_ConfigSnapshot__Output>;
  StreamConfig(options?: grpc.CallOptions): grpc.ClientDuplexStream<_hfi_v1_StreamConfigRequest, _hfi_v1_ConfigSnapshot__Output>;
  streamConfig(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_hfi_v1_StreamConfigRequest, _hfi_v1_ConfigSnapshot__Output>;
  streamConfig(options?: grpc.CallOptions): grpc.ClientDuplexStream<_hfi_v1_StreamConfigRequest, _hfi_v1_ConfigSnapshot__Output>;
  
}

export interface ConfigDiscoveryServiceHandlers extends grpc.UntypedServiceImplementation {
  StreamConfig: grpc.handleBidiStreamingCall<_hfi_v1_StreamConfigRequest__Output, _hfi_v1_ConfigSnapshot>;
  
}

export interface ConfigDiscoveryServiceDefinition extends grpc.ServiceDefinition {
  StreamConfig: MethodDefinition<_hfi_v1_StreamConfigRequest, _hfi_v1_ConfigSnapshot, _hfi_v1_StreamConfigRequest__Output, _hfi_v1_ConfigSnapshot__Output>
}
