/**
 * The protobuf well-known types the API uses: Any, Empty, Timestamp, FieldMask.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  Any,
} from "./gen/google/protobuf/any.js";
export {
  Empty,
} from "./gen/google/protobuf/empty.js";
export {
  Timestamp,
} from "./gen/google/protobuf/timestamp.js";
export {
  FieldMask,
} from "./gen/google/protobuf/field_mask.js";
