import { gzipSync } from "node:zlib";

import { isInvalidArgument } from "@containerts/errdefs";
import { Header } from "tar";
import { describe, expect, it } from "vitest";

import { goDescriptor, goJson } from "./gojson.js";
import { cleanArchivePath, readTar, tarHeader, tarPadding, tarTrailer, type TarEntry } from "./tar.js";

/** A tar of `entries` with node-tar's header encoder (names and link targets as given, unchecked). */
function tarOf(entries: readonly { path: string; type?: "File" | "Directory" | "SymbolicLink" | "Link"; data?: string; linkpath?: string }[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? "");
    const block = Buffer.alloc(512);
    new Header({ path: e.path, mode: 0o644, size: data.byteLength, type: e.type ?? "File", mtime: new Date(0), ...(e.linkpath !== undefined ? { linkpath: e.linkpath } : {}) }).encode(block, 0);
    parts.push(block, data, tarPadding(data.byteLength));
  }
  parts.push(tarTrailer());
  return Buffer.concat(parts);
}

async function* chunks(b: Buffer, size = 7): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.byteLength; i += size) yield b.subarray(i, i + size);
}

async function entriesOf(b: Buffer): Promise<{ entry: TarEntry; data: string }[]> {
  const out: { entry: TarEntry; data: string }[] = [];
  await readTar(chunks(b), async (entry, data) => {
    let s = "";
    for await (const c of data) s += Buffer.from(c).toString();
    out.push({ entry, data: s });
  });
  return out;
}

describe("archive paths", () => {
  it("cleans relative paths", () => {
    expect(cleanArchivePath("./blobs//sha256/x")).toBe("blobs/sha256/x");
    expect(cleanArchivePath("a/../b")).toBe("b");
    expect(cleanArchivePath("./")).toBe("");
  });

  it("refuses absolute paths and paths above the root", () => {
    expect(() => cleanArchivePath("/etc/passwd")).toThrow(/archive entry "\/etc\/passwd": absolute path not allowed/);
    expect(() => cleanArchivePath("../x")).toThrow(/path escapes the archive root/);
    expect(() => cleanArchivePath("a/../../x")).toThrow(/path escapes the archive root/);
  });
});

describe("readTar", () => {
  it("reads entries in order, plain or gzip-compressed, with their data", async () => {
    const tar = tarOf([
      { path: "blobs/", type: "Directory" },
      { path: "./index.json", data: "{}" },
      { path: "a/layer.tar", data: "x".repeat(1000) },
      { path: "b/layer.tar", type: "SymbolicLink", linkpath: "../a/layer.tar" },
    ]);
    for (const bytes of [tar, gzipSync(tar)]) {
      const got = await entriesOf(bytes);
      expect(got.map((g) => [g.entry.path, g.entry.type, g.entry.size, g.entry.target])).toEqual([
        ["blobs", "directory", 0, undefined],
        ["index.json", "file", 2, undefined],
        ["a/layer.tar", "file", 1000, undefined],
        ["b/layer.tar", "symlink", 0, "a/layer.tar"],
      ]);
      expect(got[2]!.data).toBe("x".repeat(1000));
    }
  });

  it("skips the data a handler leaves unread", async () => {
    const tar = tarOf([{ path: "one", data: "1".repeat(3000) }, { path: "two", data: "22" }]);
    const seen: string[] = [];
    await readTar(chunks(tar, 100), async (entry, data) => {
      seen.push(entry.path);
      if (entry.path === "two") for await (const c of data) seen.push(Buffer.from(c).toString());
    });
    expect(seen).toEqual(["one", "two", "22"]);
  });

  it.each([
    ["a parent-relative path", [{ path: "../evil", data: "x" }], /archive entry "..\/evil": path escapes the archive root/],
    ["an absolute path", [{ path: "/abs", data: "x" }], /archive entry "\/abs": absolute path not allowed/],
    ["a symlink leaving the root", [{ path: "l", type: "SymbolicLink" as const, linkpath: "../../etc/passwd" }], /symlink target "..\/..\/etc\/passwd": path escapes/],
    ["a symlink to an absolute path", [{ path: "l", type: "SymbolicLink" as const, linkpath: "/etc/passwd" }], /symlink to absolute path "\/etc\/passwd" not allowed/],
    ["a hard link leaving the root", [{ path: "h", type: "Link" as const, linkpath: "../x" }], /link target "..\/x": path escapes/],
  ])("refuses %s", async (_what, entries, message) => {
    const err = await entriesOf(tarOf([{ path: "ok", data: "fine" }, ...entries])).catch((e: unknown) => e);
    expect(isInvalidArgument(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(message);
  });

  it("refuses what is not a tar", async () => {
    const err = await entriesOf(Buffer.from("this is not an archive".repeat(40))).catch((e: unknown) => e);
    expect(isInvalidArgument(err)).toBe(true);
  });

  it("writes headers node-tar reads back", async () => {
    const data = Buffer.from("hello");
    const tar = Buffer.concat([
      tarHeader({ path: "blobs/", type: "directory", mode: 0o755, size: 0 }),
      tarHeader({ path: "blobs/sha256/abc", type: "file", mode: 0o444, size: data.byteLength }),
      data,
      tarPadding(data.byteLength),
      tarTrailer(),
    ]);
    const got = await entriesOf(tar);
    expect(got.map((g) => [g.entry.path, g.entry.type, g.data])).toEqual([
      ["blobs", "directory", ""],
      ["blobs/sha256/abc", "file", "hello"],
    ]);
  });
});

describe("Go JSON", () => {
  it("orders descriptor fields as image-spec and escapes like encoding/json", () => {
    const d = goDescriptor({
      mediaType: "m",
      digest: "sha256:00",
      size: 3,
      annotations: { z: "<&>", a: "1" },
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    });
    expect(goJson(d)).toBe(
      '{"mediaType":"m","digest":"sha256:00","size":3,"annotations":{"a":"1","z":"\\u003c\\u0026\\u003e"},"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}',
    );
  });
});
