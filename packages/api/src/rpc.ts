/**
 * `google.rpc.Status`, the error model carried by introspection's `init_err`.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  Status,
} from "./gen/google/rpc/status.js";
