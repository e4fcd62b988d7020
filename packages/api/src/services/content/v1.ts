/**
 * containerd's content service (`containerd.services.content.v1.Content`): the content-addressed blob store.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  AbortRequest,
  ContentClient,
  ContentService,
  DeleteContentRequest,
  Info,
  InfoRequest,
  InfoResponse,
  ListContentRequest,
  ListContentResponse,
  ListStatusesRequest,
  ListStatusesResponse,
  ReadContentRequest,
  ReadContentResponse,
  Status,
  StatusRequest,
  StatusResponse,
  UpdateRequest,
  UpdateResponse,
  WriteAction,
  writeActionFromJSON,
  writeActionToJSON,
  WriteContentRequest,
  WriteContentResponse,
} from "../../gen/containerd/services/content/v1/content.js";
export type {
  ContentServer,
} from "../../gen/containerd/services/content/v1/content.js";
