export { OverlaySnapshotter, type OverlaySnapshotterOptions, checkOverlaySupport } from "./overlay.js";
export type { SnapshotDatabase } from "../storage/metastore.js";
