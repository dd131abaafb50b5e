// Original file: proto/hfi/v1/config_discovery.proto


export interface Ack {
  'version'?: (string);
  'nonce'?: (string);
}

export interface Ack__Output {
  'version': (string);
  'nonce': (string);
}
