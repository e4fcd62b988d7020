/**
 * The walking differ's comparer (containerd's `diff/walking`): layers computed by walking two trees.
 * @module
 */
export { WalkingComparer, uniqueRef, type WalkingComparerOptions } from "./comparer.js";
export { writeDiff } from "./write-diff.js";
export { changes, type Change, type ChangeKind, type ChangesOptions } from "./changes.js";
