/**
 * HTTP fakes for registry tests, on 127.0.0.1 and a free port:
 *
 * - {@link startStaticRegistry}: a read-only OCI distribution endpoint serving fixed manifests and blobs,
 *   where a test can serve bytes that do not match their digest, oversized or malformed manifests;
 * - {@link startProxy}: a pass-through proxy in front of a real registry that can cut chosen responses
 *   mid-body or slow them down, and records every request (method, path, Range header).
 */
import { createHash } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** A document or blob served by {@link startStaticRegistry}. */
export interface StaticContent {
  /** The bytes served. */
  readonly bytes: Uint8Array;
  /** Content-Type (manifests). */
  readonly mediaType?: string;
  /** The `Docker-Content-Digest` to announce (default: the key it is served under, or the bytes' digest). */
  readonly digest?: string;
}

/** A request a fake saw. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly range?: string;
}

/** A running fake. */
export interface HttpFake {
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  readonly port: number;
  /** The requests seen so far. */
  readonly requests: SeenRequest[];
  stop(): Promise<void>;
}

function listen(server: Server, sockets: Set<Socket>): Promise<number> {
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      if (typeof a === "object" && a !== null) resolve(a.port);
      else reject(new Error("no port"));
    });
  });
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/**
 * Serves `manifests` (keyed by tag or digest, and always by their digest too) and `blobs` (keyed by
 * digest) of one repository at `/v2/<repository>/…`, with `HEAD`, `GET` and byte ranges, anonymously.
 * Anything else is 404.
 */
export async function startStaticRegistry(content: {
  readonly repository: string;
  readonly manifests: Readonly<Record<string, StaticContent>>;
  readonly blobs?: Readonly<Record<string, StaticContent>>;
}): Promise<HttpFake> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const prefix = `/v2/${content.repository}/`;
  // Manifests are also served by their digest, as registries do.
  const manifests: Record<string, StaticContent> = { ...content.manifests };
  for (const m of Object.values(content.manifests)) {
    const d = m.digest ?? sha256(m.bytes);
    if (manifests[d] === undefined) manifests[d] = { ...m, digest: d };
  }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const range = req.headers.range;
    requests.push({ method: req.method ?? "", path, ...(range !== undefined ? { range } : {}) });
    if (path === "/v2/" || path === "/v2") {
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
      return;
    }
    let item: StaticContent | undefined;
    let key = "";
    if (path.startsWith(`${prefix}manifests/`)) {
      key = decodeURIComponent(path.slice(`${prefix}manifests/`.length));
      item = manifests[key];
    } else if (path.startsWith(`${prefix}blobs/`)) {
      key = decodeURIComponent(path.slice(`${prefix}blobs/`.length));
      item = content.blobs?.[key];
    }
    if (item === undefined || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "NOT_FOUND", message: "not found" }] }));
      return;
    }
    const digest = item.digest ?? (key.includes(":") ? key : sha256(item.bytes));
    let body = item.bytes;
    let status = 200;
    const headers: Record<string, string> = { "docker-content-digest": digest, "content-type": item.mediaType ?? "application/octet-stream" };
    const m = range !== undefined ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (m !== null) {
      const from = Number(m[1]);
      const to = m[2] !== "" ? Number(m[2]) : body.byteLength - 1;
      headers["content-range"] = `bytes ${from}-${to}/${body.byteLength}`;
      body = body.subarray(from, to + 1);
      status = 206;
    }
    headers["content-length"] = String(body.byteLength);
    res.writeHead(status, headers);
    res.end(req.method === "HEAD" ? undefined : Buffer.from(body));
  });
  const port = await listen(server, sockets);
  return { host: `127.0.0.1:${port}`, port, requests, stop: closer(server, sockets) };
}

/** Options of {@link startProxy}. */
export interface ProxyOptions {
  /** The `host:port` requests are forwarded to. */
  readonly target: string;
  /**
   * Called for each response; returning a number cuts that response after so many body bytes (the
   * connection is destroyed), `undefined` passes it whole.
   */
  readonly cut?: (req: SeenRequest, index: number) => number | undefined;
  /** Slows every response body down to about this many bytes per second. */
  readonly bytesPerSecond?: number;
}

/** Starts a pass-through HTTP proxy (an origin server for the client) in front of `target`. */
export async function startProxy(options: ProxyOptions): Promise<HttpFake> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const [thost = "127.0.0.1", tport = "80"] = options.target.split(":");
  const server = createServer((req, res) => {
    const path = req.url ?? "/";
    const range = req.headers.range;
    const seen: SeenRequest = { method: req.method ?? "", path: path.split("?")[0] ?? "/", ...(range !== undefined ? { range } : {}) };
    const index = requests.push(seen) - 1;
    const headers = { ...req.headers, host: options.target };
    const up = httpRequest({ host: thost, port: Number(tport), method: req.method, path, headers }, (upRes) => {
      const limit = options.cut?.(seen, index);
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(upRes.headers)) {
        if (v === undefined) continue;
        // Locations point back at this proxy.
        out[k] = k === "location" && typeof v === "string" ? v.replace(`//${options.target}`, `//127.0.0.1:${port}`) : v;
      }
      res.writeHead(upRes.statusCode ?? 502, out);
      let sent = 0;
      upRes.on("data", (chunk: Buffer) => {
        let piece = chunk;
        if (limit !== undefined && sent + piece.byteLength >= limit) {
          piece = piece.subarray(0, Math.max(0, limit - sent));
          if (piece.byteLength > 0) res.write(piece);
          upRes.destroy();
          // Let the bytes leave before the connection is cut.
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        }
        sent += piece.byteLength;
        const ok = res.write(piece);
        if (options.bytesPerSecond !== undefined) {
          upRes.pause();
          setTimeout(() => upRes.resume(), (piece.byteLength / options.bytesPerSecond) * 1000);
        } else if (!ok) {
          upRes.pause();
          res.once("drain", () => upRes.resume());
        }
      });
      upRes.on("end", () => res.end());
      upRes.on("error", () => res.socket?.destroy());
    });
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.socket?.destroy();
    });
    req.pipe(up);
  });
  const port = await listen(server, sockets);
  return { host: `127.0.0.1:${port}`, port, requests, stop: closer(server, sockets) };
}
