import { describe, expect, it } from "vitest";
import { MS } from "./constants.js";
import { compactLowerdirOption, optionsSize, parseMountOptions } from "./mount-options.js";
import { parseMountInfo } from "./mountinfo.js";

describe("parseMountOptions", () => {
  const cases: [string, string[], { flags: number; propagation: number; data: string; loopSetup?: boolean }][] = [
    ["empty", [], { flags: 0, propagation: 0, data: "" }],
    ["ro", ["ro"], { flags: MS.RDONLY, propagation: 0, data: "" }],
    ["rw clears an earlier ro", ["ro", "rw"], { flags: 0, propagation: 0, data: "" }],
    ["ro after rw wins", ["rw", "ro"], { flags: MS.RDONLY, propagation: 0, data: "" }],
    ["bind", ["bind"], { flags: MS.BIND, propagation: 0, data: "" }],
    ["rbind,ro (native snapshotter view)", ["rbind", "ro"], { flags: MS.BIND | MS.REC | MS.RDONLY, propagation: 0, data: "" }],
    ["nosuid,nodev,noexec", ["nosuid", "nodev", "noexec"], { flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, propagation: 0, data: "" }],
    ["suid/dev/exec clear", ["nosuid", "nodev", "noexec", "suid", "dev", "exec"], { flags: 0, propagation: 0, data: "" }],
    ["sync then async", ["sync", "async"], { flags: 0, propagation: 0, data: "" }],
    ["remount,ro", ["remount", "ro"], { flags: MS.REMOUNT | MS.RDONLY, propagation: 0, data: "" }],
    ["atime words", ["noatime", "nodiratime", "relatime", "strictatime"], {
      flags: MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME, propagation: 0, data: "",
    }],
    ["atime clears", ["noatime", "atime", "nodiratime", "diratime", "relatime", "norelatime", "strictatime", "nostrictatime"], {
      flags: 0, propagation: 0, data: "",
    }],
    ["mand, nomand, dirsync", ["mand", "dirsync"], { flags: MS.MANDLOCK | MS.DIRSYNC, propagation: 0, data: "" }],
    ["data words keep their order", ["mode=755", "ro", "size=65536k"], { flags: MS.RDONLY, propagation: 0, data: "mode=755,size=65536k" }],
    ["overlay options are data", ["index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l1:/l2"], {
      flags: 0, propagation: 0, data: "index=off,workdir=/w,upperdir=/u,lowerdir=/l1:/l2",
    }],
    ["private", ["private"], { flags: 0, propagation: MS.PRIVATE, data: "" }],
    ["rprivate", ["rprivate"], { flags: 0, propagation: MS.PRIVATE | MS.REC, data: "" }],
    ["rshared with rbind", ["rbind", "rshared"], { flags: MS.BIND | MS.REC, propagation: MS.SHARED | MS.REC, data: "" }],
    ["slave, rslave", ["rslave"], { flags: 0, propagation: MS.SLAVE | MS.REC, data: "" }],
    ["unbindable, last propagation word wins", ["shared", "unbindable"], { flags: 0, propagation: MS.UNBINDABLE, data: "" }],
    ["runbindable", ["runbindable"], { flags: 0, propagation: MS.UNBINDABLE | MS.REC, data: "" }],
    ["loop", ["loop", "ro"], { flags: MS.RDONLY, propagation: 0, data: "", loopSetup: true }],
    ["defaults is a no-op", ["defaults", "rw"], { flags: 0, propagation: 0, data: "" }],
  ];
  it.each(cases)("%s", (_name, options, expected) => {
    expect(parseMountOptions(options)).toStrictEqual(expected);
  });
});

describe("compactLowerdirOption", () => {
  it("rewrites lowerdir relative to the parent of the common prefix and moves it last", () => {
    const root = "/var/lib/containerts/io.containerd.snapshotter.v1.overlayfs/snapshots";
    const opts = ["index=off", `lowerdir=${root}/12/fs:${root}/11/fs:${root}/10/fs`, `upperdir=${root}/13/fs`];
    expect(compactLowerdirOption(opts)).toStrictEqual({
      chdir: `${root}/`,
      options: ["index=off", `upperdir=${root}/13/fs`, "lowerdir=12/fs:11/fs:10/fs"],
    });
  });

  it("goes one level up when the common prefix ends inside an id", () => {
    const opts = ["lowerdir=/s/snapshots/21/fs:/s/snapshots/22/fs"];
    expect(compactLowerdirOption(opts)).toStrictEqual({ chdir: "/s/snapshots/", options: ["lowerdir=21/fs:22/fs"] });
  });

  it("leaves a single lowerdir, no lowerdir, or a root-only common dir alone", () => {
    for (const opts of [["lowerdir=/a/b/fs"], ["upperdir=/u"], ["lowerdir=/a/fs:/b/fs"]]) {
      expect(compactLowerdirOption(opts)).toStrictEqual({ chdir: "", options: opts });
    }
  });

  it("counts option bytes without separators", () => {
    expect(optionsSize(["ab", "cde"])).toBe(5);
    expect(optionsSize(["é"])).toBe(2);
  });
});

describe("parseMountInfo", () => {
  it("parses fields, optional fields and octal escapes", () => {
    const text = [
      "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
      "40 36 0:45 / /tmp/with\\040space rw,relatime shared:7 master:2 - tmpfs tmpfs rw,size=1024k",
      "41 36 0:46 / /x rw - overlay overlay rw,lowerdir=/a:/b",
      "garbage",
    ].join("\n");
    const [a, b, c, ...rest] = parseMountInfo(text);
    expect(rest).toHaveLength(0);
    expect(a).toMatchObject({ id: 36, parent: 35, major: 98, minor: 0, root: "/mnt1", mountPoint: "/mnt2", fsType: "ext3" });
    expect(a?.optional).toStrictEqual(["master:1"]);
    expect(b).toMatchObject({ mountPoint: "/tmp/with space", optional: ["shared:7", "master:2"], superOptions: "rw,size=1024k" });
    expect(c).toMatchObject({ fsType: "overlay", source: "overlay", optional: [] });
  });
});
