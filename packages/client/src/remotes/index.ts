/**
 * Talking to OCI distribution registries: references, authentication, and the per-repository client.
 * @module
 */
export { parseReference, formatReference, registryHost, isLocalhost, type Reference } from "./reference.js";
export { parseChallenges, basicAuth, fetchToken, type Credentials, type Challenge } from "./auth.js";
export { Registry, isManifestType, manifestAcceptHeader, MAX_MANIFEST_SIZE, type RegistryOptions, type RemoteDescriptor } from "./registry.js";
