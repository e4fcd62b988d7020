import { describe, expect, it } from "vitest";
import { TarBuilder, chunks } from "../../__fixtures__/tar.js";
import { parseNumeric, parsePax } from "./format.js";
import { TarReader, type TarHeader } from "./reader.js";
import { dataPadding, encodeHeader, encodeUstarBlock, paxRecord } from "./writer.js";

async function readAll(archive: Uint8Array, chunk = 333): Promise<{ h: TarHeader; data: Buffer }[]> {
  const r = new TarReader(chunks(archive, chunk));
  const out: { h: TarHeader; data: Buffer }[] = [];
  for (let h = await r.next(); h !== undefined; h = await r.next()) {
    const parts: Uint8Array[] = [];
    for await (const c of r.body()) parts.push(c);
    out.push({ h, data: Buffer.concat(parts) });
  }
  return out;
}

function paxEntry(records: [string, string | Uint8Array][], h: Parameters<typeof encodeHeader>[0], data: Buffer): Buffer {
  const body = Buffer.concat(records.map(([k, v]) => paxRecord(k, v)));
  return Buffer.concat([
    encodeUstarBlock({ name: "PaxHeaders/x", typeflag: "x", size: body.byteLength }),
    body,
    dataPadding(body.byteLength),
    encodeHeader({ ...h, size: data.byteLength }),
    data,
    dataPadding(data.byteLength),
  ]);
}

describe("TarReader", () => {
  it("parses octal and base-256 numbers like Go", () => {
    expect(parseNumeric(Buffer.from(" 0000644\0"))).toBe(0o644n);
    expect(parseNumeric(Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]))).toBe(256n);
    expect(parseNumeric(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]))).toBe(-2n);
    expect(() => parseNumeric(Buffer.from("12389\0"))).toThrow(/invalid octal/);
  });

  it("keeps binary PAX values byte for byte and exposes SCHILY.xattr records", async () => {
    const value = Buffer.from([0, 10, 255, 61, 32, 10]);
    const archive = Buffer.concat([
      paxEntry([["SCHILY.xattr.user.bin", value], ["path", "ünïcode/name"], ["mtime", "1234.5"]], { name: "x", typeflag: "0" }, Buffer.from("data")),
      Buffer.alloc(1024),
    ]);
    const [e] = await readAll(archive);
    expect(e?.h.name).toBe("ünïcode/name");
    expect(e?.h.mtime).toBe(1234.5);
    expect(e?.h.xattrs.get("user.bin")?.equals(value)).toBe(true);
    expect(e?.data.toString()).toBe("data");
    expect(() => parsePax(Buffer.from("5 a=b\n"))).toThrow(/malformed/);
  });

  it("reads GNU long names and links, header-only sizes, v7 directories and a missing end marker", async () => {
    const longLink = `${"l".repeat(150)}/target`;
    const archive = new TarBuilder()
      .gnuLongName(`${"d".repeat(120)}/file`)
      .file("short", "x")
      .raw(
        Buffer.concat([
          encodeUstarBlock({ name: "././@LongLink", typeflag: "K", size: longLink.length + 1 }),
          Buffer.from(`${longLink}\0`),
          dataPadding(longLink.length + 1),
          encodeUstarBlock({ name: "sym", typeflag: "2", size: 1000, linkname: "short" }), // size ignored
        ]),
      )
      .raw(encodeUstarBlock({ name: "olddir/", typeflag: "\0" }))
      .build(false);
    const entries = await readAll(archive, 7);
    expect(entries.map((e) => [e.h.typeflag, e.h.name, e.h.linkname])).toEqual([
      ["0", `${"d".repeat(120)}/file`, ""],
      ["2", "sym", longLink],
      ["5", "olddir/", ""],
    ]);
  });

  it("reads PAX sparse files (0.1 map in records, 1.0 map in the data)", async () => {
    const data = Buffer.from("AAAABBBB");
    const v01 = paxEntry(
      [["GNU.sparse.major", "0"], ["GNU.sparse.minor", "1"], ["GNU.sparse.name", "s01"], ["GNU.sparse.realsize", "100"], ["GNU.sparse.numblocks", "2"], ["GNU.sparse.map", "10,4,90,4"]],
      { name: "GNUSparseFile.0/s01", typeflag: "0" },
      data,
    );
    const map = Buffer.alloc(512);
    map.write("2\n0\n4\n96\n4\n");
    const v10 = paxEntry(
      [["GNU.sparse.major", "1"], ["GNU.sparse.minor", "0"], ["GNU.sparse.name", "s10"], ["GNU.sparse.realsize", "100"]],
      { name: "GNUSparseFile.0/s10", typeflag: "0" },
      Buffer.concat([map, data]),
    );
    const entries = await readAll(Buffer.concat([v01, v10, Buffer.alloc(1024)]), 100);
    expect(entries.map((e) => [e.h.name, e.h.size, e.h.sparse, e.data.toString()])).toEqual([
      ["s01", 100, [{ offset: 10, length: 4 }, { offset: 90, length: 4 }], "AAAABBBB"],
      ["s10", 100, [{ offset: 0, length: 4 }, { offset: 96, length: 4 }], "AAAABBBB"],
    ]);
  });
});
