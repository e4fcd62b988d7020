/**
 * The tasks service over a container store and a runtime (no daemon needed).
 * @module
 */
export { createTaskService, type TaskServiceOptions, type ServiceLogger } from "./service.js";
