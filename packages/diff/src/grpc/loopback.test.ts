/**
 * The Diff service over a real gRPC loopback (unix socket): plugins composed in a registry, the server
 * adapter, the proxy client, error kinds across the wire, and the nullable response fields.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Server, ServerCredentials, credentials } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DiffClient } from "@containerts/api/services/diff/v1";
import { digestOf, writeBlob } from "@containerts/content";
import { LocalContentStore } from "@containerts/content/local";
import { kindOf } from "@containerts/errdefs";
import { background, withNamespace } from "@containerts/namespaces";
import { callUnary, type GrpcServicePlugin } from "@containerts/namespaces/grpc";
import { PluginType, ServiceId, createRegistry, initPlugins, type AnyRegistration } from "@containerts/plugin-registry";
import { mountsUnder } from "@containerts/sys";
import { TarBuilder } from "../__fixtures__/tar.js";
import type { DiffService } from "../diff.js";
import { LayerMediaType } from "../media-types.js";
import { diffPlugins } from "../plugin/index.js";
import { ProxyDiffService } from "../proxy/index.js";

let dir = "";
let store: LocalContentStore;
let server: Server;
let proxy: ProxyDiffService;
let address = "";
const ctx = withNamespace(background(), "default");

const metadata = (s: LocalContentStore): AnyRegistration => ({
  type: PluginType.Metadata,
  id: "bolt",
  init: async () => ({ contentStore: () => s }),
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "diff-grpc-"));
  store = await LocalContentStore.open(join(dir, "content"));
  const set = await initPlugins(createRegistry([metadata(store), ...diffPlugins]), {
    root: join(dir, "root"),
    state: join(dir, "state"),
  });
  const walking = set.get(PluginType.Differ, "walking");
  expect(walking?.status).toBe("ok");
  expect(walking?.meta.platforms).toEqual([{ os: "linux", architecture: process.arch === "x64" ? "amd64" : process.arch }]);
  expect(set.get(PluginType.Service, ServiceId.DiffService)?.status).toBe("ok");
  const grpc = set.get(PluginType.GRPC, "diff");
  expect(grpc?.status).toBe("ok");
  server = new Server();
  (grpc?.instance as GrpcServicePlugin).register(server);
  address = `unix://${join(dir, "s.sock")}`;
  await new Promise<void>((res, rej) => server.bindAsync(address, ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
  proxy = new ProxyDiffService({ address, credentials: credentials.createInsecure(), options: {} });
});

afterEach(async () => {
  proxy.close();
  await new Promise<void>((res) => server.tryShutdown(() => res()));
  expect(mountsUnder(dir)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

describe("Diff service over gRPC", () => {
  it("lists the plugins under containerd's types and ids", () => {
    expect(diffPlugins.map((r) => `${r.type}.${r.id}`)).toEqual([
      "io.containerd.differ.v1.walking",
      "io.containerd.service.v1.diff-service",
      "io.containerd.grpc.v1.diff",
    ]);
  });

  it("applies and diffs through the proxy, with temp mounts under <root>/tmpmounts", async () => {
    const tar = new TarBuilder().dir("etc").file("etc/motd", "hello\n").build();
    const gz = gzipSync(tar);
    const digest = digestOf(gz);
    await writeBlob(store, ctx, "layer", gz, { expected: digest });
    const rootfs = join(dir, "rootfs");
    const empty = join(dir, "empty");
    mkdirSync(rootfs);
    mkdirSync(empty);
    const applied = await proxy.apply(ctx, { mediaType: LayerMediaType.OciLayerGzip, digest, size: gz.byteLength }, [
      { type: "bind", source: rootfs, options: ["rbind", "rw"] },
    ]);
    expect(applied).toEqual({
      mediaType: LayerMediaType.OciLayer,
      digest: `sha256:${createHash("sha256").update(tar).digest("hex")}`,
      size: tar.byteLength,
    });
    expect(readFileSync(join(rootfs, "etc/motd"), "utf8")).toBe("hello\n");
    const diff = await proxy.compare(
      ctx,
      [{ type: "bind", source: empty, options: ["rbind", "ro"] }],
      [{ type: "bind", source: rootfs, options: ["rbind", "rw"] }],
      { labels: { k: "v" } },
    );
    expect(diff.mediaType).toBe(LayerMediaType.OciLayerGzip);
    // Same headers, same gzip level: the diff reproduces the applied blob byte for byte, so the commit
    // finds it present (AlreadyExists, success) and only the uncompressed label is added to it.
    expect(diff.digest).toBe(digest);
    expect((await store.info(ctx, diff.digest)).labels).toEqual({ "containerd.io/uncompressed": applied.digest });
  });

  it("carries error kinds and containerd's messages across the wire", async () => {
    const tar = new TarBuilder().file("x", "y").build();
    const digest = digestOf(tar);
    await writeBlob(store, ctx, "plain", tar, { expected: digest });
    const mounts = [{ type: "bind", source: dir, options: ["rbind", "rw"] }];
    const e1 = await proxy.apply(ctx, { mediaType: "text/plain", digest, size: 1 }, mounts).catch((e: unknown) => e);
    expect(kindOf(e1)).toBe("Unknown");
    expect((e1 as Error).message).toBe("failed to get stream processor for text/plain: no processor for media-type");
    const e2 = await proxy.compare(ctx, [], [], { mediaType: "application/x-foo" }).catch((e: unknown) => e);
    expect(kindOf(e2)).toBe("NotImplemented");
    const e3 = await proxy
      .apply(ctx, { mediaType: LayerMediaType.OciLayer, digest: digestOf("missing"), size: 7 }, mounts)
      .catch((e: unknown) => e);
    expect(kindOf(e3)).toBe("NotFound");
    const raw = new DiffClient(address, credentials.createInsecure());
    try {
      const e4 = await callUnary(raw.apply.bind(raw), { diff: undefined, mounts: [], payloads: {} }, ctx).catch((e: unknown) => e);
      expect(kindOf(e4)).toBe("InvalidArgument");
    } finally {
      raw.close();
    }
  });

  it("tries the configured differs in order, skipping those that answer NotImplemented", async () => {
    const calls: string[] = [];
    const notImpl: DiffService = {
      apply: async () => {
        calls.push("first");
        throw Object.assign(new Error("x"), {});
      },
      compare: async () => {
        calls.push("first");
        const { NotImplementedError } = await import("@containerts/errdefs");
        throw new NotImplementedError("compare");
      },
    };
    const second: DiffService = {
      apply: async () => ({ mediaType: "m", digest: "d", size: 1 }),
      compare: async () => {
        calls.push("second");
        return { mediaType: "m", digest: "sha256:00", size: 2 };
      },
    };
    const regs: AnyRegistration[] = [
      { type: PluginType.Differ, id: "first", init: async () => notImpl },
      { type: PluginType.Differ, id: "second", init: async () => second },
      { ...(diffPlugins[1] as AnyRegistration), config: { default: ["first", "second"] } },
    ];
    const set = await initPlugins(createRegistry(regs), { root: join(dir, "r2"), state: join(dir, "s2") });
    const svc = set.get(PluginType.Service, ServiceId.DiffService)?.instance as DiffService;
    expect((await svc.compare(ctx, [], [])).size).toBe(2);
    expect(calls).toEqual(["first", "second"]);
    await expect(svc.apply(ctx, { mediaType: "m", digest: "d", size: 1 }, [])).rejects.toThrow("x");
  });
});
