/**
 * `@containerts/client`: the rich TypeScript client for containerd's v1 API.
 * @module
 */
export { Client, DEFAULT_ADDRESS, MAX_MESSAGE_SIZE, type ClientOptions } from "./client.js";
