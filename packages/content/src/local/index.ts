/**
 * `@containerts/content/local`: the content store over a local directory, in containerd's layout.
 */
export { LocalContentStore, type LocalContentStoreOptions } from "./store.js";
