// Original file: proto/hfi/v1/config_discovery.proto


export interface Nack {
  'version'?: (string);
  'nonce'?: (string);
  'error'?: (string);
}

export interface Nack__Output {
  'version': (string);
  'nonce': (string);
  'error': (string);
}
