/**
 * `@containerts/client`: the rich TypeScript client for containerd's v1 API.
 * @module
 */
export { Client, DEFAULT_ADDRESS, MAX_MESSAGE_SIZE, type ClientOptions } from "./client.js";
export * from "./containers/index.js";
export * from "./images/index.js";
export { subscribeEvents, type SubscribeEventsOptions } from "./event-stream.js";
