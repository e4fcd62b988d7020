import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_SOCKET_DIR, canConnect, groupingId, socketAddress, socketDir, socketPath } from "./address.js";

describe("socket addresses", () => {
  it("hashes <daemon address>/<namespace>/<grouping id> like containerd", () => {
    const hex = createHash("sha256").update("/run/containerd/containerd.sock/default/redis").digest("hex");
    expect(socketAddress("/run/containerd/containerd.sock", "default", "redis", "/run/containerd/s")).toBe(`unix:///run/containerd/s/${hex}`);
    // filepath.Join cleans the path
    expect(socketAddress("/a//b/", "ns", "id", "/d")).toBe(socketAddress("/a/b", "ns", "id", "/d"));
  });

  it("defaults to containerts' socket directory, overridable by env", () => {
    expect(socketDir({})).toBe(DEFAULT_SOCKET_DIR);
    expect(socketDir({ CONTAINERTS_SHIM_SOCKET_DIR: "/tmp/x" })).toBe("/tmp/x");
  });

  it("rejects an empty namespace and paths over the socket limit", () => {
    expect(() => socketAddress("/a", "", "id")).toThrow("namespace is required");
    expect(() => socketAddress("/a", "ns", "id", `/${"d".repeat(60)}`)).toThrow(/limit is 106/);
  });

  it("groups by the group annotation, then the CRI sandbox id, else the task id", () => {
    expect(groupingId("t1", undefined)).toBe("t1");
    expect(groupingId("t1", { "io.kubernetes.cri.sandbox-id": "sb" })).toBe("sb");
    expect(groupingId("t1", { "io.kubernetes.cri.sandbox-id": "sb", "io.containerd.runc.v2.group": "g" })).toBe("g");
  });

  it("maps addresses to socket paths (unix:// or abstract)", () => {
    expect(socketPath("unix:///run/x")).toBe("/run/x");
    expect(socketPath("name")).toBe("\0name");
  });
});

describe("canConnect", () => {
  let dir = "";
  afterEach(async () => {
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("is true for a listening socket and false otherwise", async () => {
    dir = await mkdtemp(join(tmpdir(), "tsrunc-addr-"));
    const path = join(dir, "s.sock");
    expect(await canConnect(`unix://${path}`)).toBe(false);
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(path, r));
    try {
      expect(await canConnect(`unix://${path}`)).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
