/**
 * The registry client against a real Debian docker-registry on 127.0.0.1, and the bearer-token flow
 * against a small in-test token server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { startRegistry, type TestRegistry } from "@containerts/testkit";
import { isNotFound, kindOf } from "@containerts/errdefs";
import { Registry, parseReference, parseChallenges, type RemoteDescriptor } from "./index.js";

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}
async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

function image(layer: Uint8Array) {
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha(layer)] } }));
  const configDesc: RemoteDescriptor = { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length };
  const layerDesc: RemoteDescriptor = { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha(layer), size: layer.length };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: configDesc, layers: [layerDesc] }));
  const manifestDesc: RemoteDescriptor = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha(manifest), size: manifest.length };
  return { config, configDesc, layerDesc, manifest, manifestDesc };
}

describe("Registry against docker-registry", () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it("pushes blobs (monolithic and chunked) and a manifest, then resolves and fetches them", async () => {
    const layer = randomBytes(3 * 1024 * 1024 + 17);
    const img = image(layer);
    const r = new Registry(parseReference(`${reg.host}/test/one:v1`));
    expect(await r.pushBlob(img.layerDesc, () => once(layer), { chunkSize: 1024 * 1024 })).toBe("uploaded");
    expect(await r.pushBlob(img.configDesc, () => once(img.config))).toBe("uploaded");
    expect(await r.pushBlob(img.configDesc, () => once(img.config))).toBe("exists");
    await r.pushManifest("v1", img.manifestDesc, img.manifest);
    const desc = await r.resolve();
    expect(desc).toEqual(img.manifestDesc);
    expect(await collect(await r.fetch(desc))).toEqual(img.manifest);
    const got = await collect(await r.fetch(img.layerDesc));
    expect(sha(got)).toBe(img.layerDesc.digest);
    const tail = await collect(await r.fetch(img.layerDesc, { offset: 1_000_000 }));
    expect(tail).toEqual(layer.subarray(1_000_000));
  });

  it("mounts a blob from another repository of the same registry", async () => {
    const layer = randomBytes(4096);
    const img = image(layer);
    const a = new Registry(parseReference(`${reg.host}/test/src:v1`));
    await a.pushBlob(img.layerDesc, () => once(layer));
    const b = new Registry(parseReference(`${reg.host}/test/dst:v1`));
    expect(await b.pushBlob(img.layerDesc, () => once(layer), { mountFrom: "test/src" })).toBe("mounted");
    expect(await b.exists(img.layerDesc)).toBe(true);
  });

  it("answers NotFound naming the reference for an unknown tag", async () => {
    const r = new Registry(parseReference(`${reg.host}/test/none:nope`));
    const err = await r.resolve().catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).toContain(`${reg.host}/test/none:nope`);
  });
});

describe("Registry with basic authentication", () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: { username: "alice", password: "s3cret" } });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it("pushes with the right credentials and is refused without them", async () => {
    const layer = randomBytes(1000);
    const img = image(layer);
    const ok = new Registry(parseReference(`${reg.host}/priv/img:v1`), { credentials: { username: "alice", password: "s3cret" } });
    expect(await ok.pushBlob(img.layerDesc, () => once(layer))).toBe("uploaded");
    const anon = new Registry(parseReference(`${reg.host}/priv/img:v1`));
    expect(kindOf(await anon.exists(img.layerDesc).catch((e: unknown) => e))).toBe("Unauthenticated");
    const wrong = new Registry(parseReference(`${reg.host}/priv/img:v1`), { credentials: { username: "alice", password: "nope" } });
    expect(kindOf(await wrong.exists(img.layerDesc).catch((e: unknown) => e))).toBe("Unauthenticated");
  });
});

describe("Registry bearer-token challenge", () => {
  let server: Server;
  let port = 0;
  const seen: string[] = [];
  beforeAll(async () => {
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: {}, layers: [] }));
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ""}`);
      if (req.url?.startsWith("/token")) {
        const u = new URL(req.url, "http://x");
        const auth = req.headers.authorization;
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ token: `tok-${u.searchParams.get("scope")}-${auth ? "user" : "anon"}` }));
        return;
      }
      if (req.headers.authorization !== "Bearer tok-repository:team/app:pull-user") {
        res.statusCode = 401;
        res.setHeader("www-authenticate", `Bearer realm="http://127.0.0.1:${port}/token",service="test-registry",scope="repository:team/app:pull"`);
        res.end();
        return;
      }
      res.setHeader("content-type", "application/vnd.oci.image.manifest.v1+json");
      res.setHeader("docker-content-digest", sha(manifest));
      res.setHeader("content-length", String(manifest.length));
      res.end(req.method === "HEAD" ? undefined : manifest);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it("fetches a token from the realm with the credentials and retries", async () => {
    const r = new Registry(parseReference(`127.0.0.1:${port}/team/app:latest`), { credentials: { username: "u", password: "p" } });
    const d = await r.resolve();
    expect(d.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(seen.some((s) => s.startsWith("GET /token?service=test-registry&scope=repository%3Ateam%2Fapp%3Apull Basic "))).toBe(true);
  });

  it("parses challenges", () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual([
      { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" } },
    ]);
    expect(parseChallenges('Basic realm="x"')).toEqual([{ scheme: "basic", params: { realm: "x" } }]);
  });
});

describe("parseReference", () => {
  it("normalizes like docker", () => {
    expect(parseReference("busybox")).toEqual({ host: "docker.io", repository: "library/busybox", tag: "latest" });
    expect(parseReference("localhost:5000/bb:test")).toEqual({ host: "localhost:5000", repository: "bb", tag: "test" });
    expect(parseReference("127.0.0.1:5000/a/b@sha256:" + "a".repeat(64))).toEqual({ host: "127.0.0.1:5000", repository: "a/b", digest: "sha256:" + "a".repeat(64) });
    expect(parseReference("ghcr.io/x/y:1.0").host).toBe("ghcr.io");
    expect(kindOf((() => { try { parseReference("library/UPPER"); } catch (e) { return e; } })())).toBe("InvalidArgument");
  });
});
