/**
 * `@containerts/namespaces`: the request context (namespace, lease, cancellation), containerd's identifier
 * and label rules, field-mask helpers for Update calls, and containerd's filter language.
 *
 * @packageDocumentation
 */
export {
  type Context,
  background,
  withNamespace,
  withLease,
  withSignal,
  namespaceRequired,
  NAMESPACE_HEADER,
  NAMESPACE_TTRPC_HEADER,
  LEASE_HEADER,
  DEFAULT_NAMESPACE,
  NAMESPACE_ENV_VAR,
} from "./context.js";
export { validateIdentifier, MAX_IDENTIFIER_LENGTH, IDENTIFIER_PATTERN } from "./identifiers.js";
export {
  type LabelPathOptions,
  validateLabel,
  validateLabels,
  cleanLabels,
  applyLabelPaths,
  isLabelPath,
  MAX_LABEL_SIZE,
} from "./labels.js";
export {
  type Adaptor,
  type Filter,
  type FilterOperator,
  type Selector,
  alwaysTrue,
  anyOf,
  allOf,
  createSelector,
  adaptFields,
  adaptPrefix,
} from "./filters/filter.js";
export { parseFilter, parseFilters, quoteFilterString } from "./filters/parser.js";
export { compileGoRegexp } from "./filters/re2.js";
export { type Namespace, type NamespaceStore } from "./store.js";
