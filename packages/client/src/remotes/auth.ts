/**
 * Registry authentication: parses `WWW-Authenticate` challenges and answers them, with basic credentials
 * or a bearer token fetched from the realm (the Docker token protocol, anonymous or with basic auth).
 */
import { UnauthenticatedError } from "@containerts/errdefs";

/** Credentials for a registry. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** A parsed authentication challenge. */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses a `WWW-Authenticate` header value (one or more challenges). */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  const re = /([A-Za-z]+)\s+((?:[A-Za-z_]+="(?:[^"\\]|\\.)*"\s*,?\s*|[A-Za-z_]+=[^,\s"]+\s*,?\s*)+)/g;
  for (const m of header.matchAll(re)) {
    const params: Record<string, string> = {};
    for (const p of (m[2] ?? "").matchAll(/([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s"]+))/g)) {
      params[(p[1] ?? "").toLowerCase()] = (p[2] ?? p[3] ?? "").replace(/\\(.)/g, "$1");
    }
    out.push({ scheme: (m[1] ?? "").toLowerCase(), params });
  }
  if (out.length === 0 && /^basic$/i.test(header.trim())) out.push({ scheme: "basic", params: {} });
  return out;
}

/** Builds a basic `Authorization` header value. */
export function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}

/**
 * Fetches a bearer token for `scopes` from the challenge's realm; with credentials they are sent as basic
 * auth (the registry then grants what the user may do).
 */
export async function fetchToken(challenge: Challenge, scopes: readonly string[], creds: Credentials | undefined, fetchImpl: typeof fetch, signal?: AbortSignal): Promise<string> {
  const realm = challenge.params["realm"];
  if (!realm) throw new UnauthenticatedError("bearer challenge without realm", { bare: true });
  const url = new URL(realm);
  if (challenge.params["service"]) url.searchParams.set("service", challenge.params["service"]);
  for (const s of scopes) url.searchParams.append("scope", s);
  const headers: Record<string, string> = {};
  if (creds) headers["authorization"] = basicAuth(creds);
  const res = await fetchImpl(url, { headers, ...(signal ? { signal } : {}) });
  if (!res.ok) {
    throw new UnauthenticatedError(`fetching token from ${url.origin}${url.pathname}: ${res.status} ${res.statusText}`, { bare: true });
  }
  const body = (await res.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new UnauthenticatedError(`token response from ${url.origin} holds no token`, { bare: true });
  return token;
}
