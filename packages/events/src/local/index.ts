/**
 * The in-process event exchange: `createExchange` and its options.
 * @module
 */
export {
  createExchange,
  resolveExchangeOptions,
  DEFAULT_QUEUE_SIZE,
  type ExchangeOptions,
  type ExchangeStats,
  type LocalExchange,
} from "./exchange.js";
export { messageEventFields } from "./event-fields.js";
export type { Clock, PreciseInstant } from "../internal/time.js";
