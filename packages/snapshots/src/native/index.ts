export { NativeSnapshotter, type NativeSnapshotterOptions } from "./native.js";
export type { SnapshotDatabase } from "../storage/metastore.js";
