// How decoded messages look to the API's users (proto-loader's options):
// int64 as numbers, enums as names, defaults filled in, the oneof's member
// named under the oneof. scripts/codegen.sh generates the TypeScript types for
// these options (change both together).
export const CONVERSION_OPTIONS = {
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;
