// Original file: proto/hfi/v1/policy.proto


/**
 * Applied in order: remove, then set (replace every value), then add.
 */
export interface HeaderMutation {
  'set'?: ({[key: string]: string});
  'add'?: ({[key: string]: string});
  'remove'?: (string)[];
}

/**
 * Applied in order: remove, then set (replace every value), then add.
 */
export interface HeaderMutation__Output {
  'set': ({[key: string]: string});
  'add': ({[key: string]: string});
  'remove': (string)[];
}
