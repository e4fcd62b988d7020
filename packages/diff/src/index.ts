/**
 * `@containerts/diff`: the diff service's interfaces (Applier, Comparer), layer media types and the
 * ordered diff service. No I/O happens at this entry point: the applier lives in `./apply`, the
 * comparer in `./walking`, the gRPC adapter in `./grpc`, the client in `./proxy` and the plugin
 * registrations in `./plugin`.
 */
export {
  type Applier,
  type ApplyOptions,
  type Comparer,
  type CompareOptions,
  type DiffService,
  type ProcessorPayload,
} from "./diff.js";
export { LayerMediaType, UNCOMPRESSED_LABEL, diffCompression } from "./media-types.js";
export { createDiffService } from "./service.js";
