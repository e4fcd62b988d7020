/**
 * The Tasks gRPC adapter (`containerd.services.tasks.v1.Tasks`).
 * @module
 */
export { createTasksServer } from "./server.js";
