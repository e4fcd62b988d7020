/**
 * Wire compatibility with containerd 1.6: builds containerd's own .proto files (from the Debian package
 * golang-github-containerd-containerd-dev, under /usr/share/gocode) and ours with buf, and compares the two
 * descriptor sets: every message, field (name, number, type, label, message/enum type), enum value and
 * service method must match.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageTypes } from "./gen/registry.js";

const gocode = "/usr/share/gocode/src";
const containerdDir = join(gocode, "github.com/containerd/containerd");
const protoDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "proto");

interface FieldJson {
  name?: string;
  number?: number;
  label?: string;
  type?: string;
  typeName?: string;
}
interface EnumJson {
  name?: string;
  value?: { name?: string; number?: number }[];
}
interface MessageJson {
  name?: string;
  field?: FieldJson[];
  nestedType?: MessageJson[];
  enumType?: EnumJson[];
  options?: { mapEntry?: boolean };
}
interface MethodJson {
  name?: string;
  inputType?: string;
  outputType?: string;
  clientStreaming?: boolean;
  serverStreaming?: boolean;
}
interface ServiceJson {
  name?: string;
  method?: MethodJson[];
}
interface FileJson {
  name?: string;
  package?: string;
  dependency?: string[];
  messageType?: MessageJson[];
  enumType?: EnumJson[];
  service?: ServiceJson[];
}
interface DescriptorSet {
  file?: FileJson[];
}

/** Everything a descriptor set declares, by full name. */
interface Index {
  messages: Map<string, { file: string; mapEntry: boolean; fields: Map<string, string> }>;
  enums: Map<string, { file: string; values: string[] }>;
  services: Map<string, { file: string; methods: Map<string, string> }>;
}

function fieldSignature(f: FieldJson): string {
  return `${f.number} ${f.label ?? "LABEL_OPTIONAL"} ${f.type}${f.typeName ? ` ${f.typeName}` : ""}`;
}

function indexSet(set: DescriptorSet, fileFilter: (name: string) => boolean): Index {
  const idx: Index = { messages: new Map(), enums: new Map(), services: new Map() };
  for (const file of set.file ?? []) {
    const fname = file.name ?? "";
    if (!fileFilter(fname)) continue;
    const pkg = file.package ? `${file.package}.` : "";
    const addEnum = (e: EnumJson, prefix: string) =>
      idx.enums.set(`${prefix}${e.name}`, { file: fname, values: (e.value ?? []).map((v) => `${v.name}=${v.number}`) });
    const addMessage = (m: MessageJson, prefix: string) => {
      const full = `${prefix}${m.name}`;
      idx.messages.set(full, {
        file: fname,
        mapEntry: m.options?.mapEntry === true,
        fields: new Map((m.field ?? []).map((f) => [f.name ?? "", fieldSignature(f)])),
      });
      for (const n of m.nestedType ?? []) addMessage(n, `${full}.`);
      for (const e of m.enumType ?? []) addEnum(e, `${full}.`);
    };
    for (const m of file.messageType ?? []) addMessage(m, pkg);
    for (const e of file.enumType ?? []) addEnum(e, pkg);
    for (const s of file.service ?? []) {
      idx.services.set(`${pkg}${s.name}`, {
        file: fname,
        methods: new Map(
          (s.method ?? []).map((m) => [
            m.name ?? "",
            `${m.clientStreaming ? "stream " : ""}${m.inputType} -> ${m.serverStreaming ? "stream " : ""}${m.outputType}`,
          ]),
        ),
      });
    }
  }
  return idx;
}

function bufBuild(dir: string, paths?: readonly string[]): DescriptorSet {
  const require = createRequire(import.meta.url);
  const bufBin = require.resolve("@bufbuild/buf/bin/buf");
  const args = [bufBin, "build", dir, "--exclude-source-info", "--output", "-#format=json"];
  for (const p of paths ?? []) args.push("--path", join(dir, p));
  const out = execFileSync(process.execPath, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(out) as DescriptorSet;
}

/** The upstream files we reproduce, with where they sit under the staging root (= their import path). */
const upstreamFiles: readonly { from: string; to: string; pkg: string }[] = [
  ...["descriptor", "metrics", "mount", "platform", "task/task"].map((f) => ({
    from: `github.com/containerd/containerd/api/types/${f}.proto`,
    to: `github.com/containerd/containerd/api/types/${f}.proto`,
    pkg: "golang-github-containerd-containerd-dev",
  })),
  ...["container", "content", "image", "namespace", "snapshot", "task"].map((f) => ({
    from: `github.com/containerd/containerd/api/events/${f}.proto`,
    to: `github.com/containerd/containerd/api/events/${f}.proto`,
    pkg: "golang-github-containerd-containerd-dev",
  })),
  ...[
    "containers/v1/containers",
    "content/v1/content",
    "diff/v1/diff",
    "events/v1/events",
    "images/v1/images",
    "introspection/v1/introspection",
    "leases/v1/leases",
    "namespaces/v1/namespace",
    "snapshots/v1/snapshots",
    "tasks/v1/tasks",
    "ttrpc/events/v1/events",
    "version/v1/version",
  ].map((f) => ({
    from: `github.com/containerd/containerd/api/services/${f}.proto`,
    to: `github.com/containerd/containerd/api/services/${f}.proto`,
    pkg: "golang-github-containerd-containerd-dev",
  })),
  {
    from: "github.com/containerd/containerd/runtime/v2/task/shim.proto",
    to: "github.com/containerd/containerd/runtime/v2/task/shim.proto",
    pkg: "golang-github-containerd-containerd-dev",
  },
  {
    from: "github.com/containerd/containerd/runtime/v2/runc/options/oci.proto",
    to: "github.com/containerd/containerd/runtime/v2/runc/options/oci.proto",
    pkg: "golang-github-containerd-containerd-dev",
  },
  {
    from: "github.com/containerd/cgroups/stats/v1/metrics.proto",
    to: "github.com/containerd/cgroups/stats/v1/metrics.proto",
    pkg: "golang-github-containerd-cgroups-dev",
  },
  {
    from: "github.com/containerd/cgroups/v2/stats/metrics.proto",
    to: "github.com/containerd/cgroups/v2/stats/metrics.proto",
    pkg: "golang-github-containerd-cgroups-dev",
  },
  {
    from: "google.golang.org/grpc/debian/missing-sources/grpc/grpc-proto/master/grpc/health/v1/health.proto",
    to: "grpc/health/v1/health.proto",
    pkg: "golang-google-grpc-dev",
  },
  {
    from: "github.com/gogo/googleapis/google/rpc/status.proto",
    to: "google/rpc/status.proto",
    pkg: "golang-github-gogo-googleapis-dev",
  },
];

/** Imported by the upstream files for options only; staged so that they build, never compared. */
const upstreamSupport: readonly { from: string; to: string; pkg: string }[] = [
  {
    from: "github.com/gogo/protobuf/gogoproto/gogo.proto",
    to: "gogoproto/gogo.proto",
    pkg: "golang-github-gogo-protobuf-dev",
  },
  {
    from: "github.com/containerd/containerd/protobuf/plugin/fieldpath.proto",
    to: "github.com/containerd/containerd/protobuf/plugin/fieldpath.proto",
    pkg: "golang-github-containerd-containerd-dev",
  },
];

function listProtos(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".proto")) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

describe("wire compatibility with containerd 1.6 protos", () => {
  let staging: string | undefined;
  let loaded: { upstream: Index; ours: Index } | Error | undefined;

  /** Every test fails (never skips) with the setup error, e.g. the missing Debian package. */
  function indexes(): { upstream: Index; ours: Index } {
    if (loaded instanceof Error) throw loaded;
    if (loaded === undefined) throw new Error("descriptor sets were not built");
    return loaded;
  }

  function load(): { upstream: Index; ours: Index } {
    if (!existsSync(containerdDir)) {
      throw new Error(
        `containerd's sources are missing (${containerdDir}): install the Debian package ` +
          "golang-github-containerd-containerd-dev (apt-get install golang-github-containerd-containerd-dev)",
      );
    }
    const missing = [...upstreamFiles, ...upstreamSupport].filter((f) => !existsSync(join(gocode, f.from)));
    if (missing.length > 0) {
      throw new Error(
        `upstream protos are missing: ${missing.map((f) => `${join(gocode, f.from)} (Debian package ${f.pkg})`).join(", ")}; ` +
          "install golang-github-containerd-containerd-dev, which depends on all of them",
      );
    }
    staging = mkdtempSync(join(tmpdir(), "containerts-proto-compat-"));
    for (const f of [...upstreamFiles, ...upstreamSupport]) {
      const dest = join(staging, f.to);
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(join(gocode, f.from), dest);
    }
    const targets = new Set(upstreamFiles.map((f) => f.to));
    return {
      upstream: indexSet(
        bufBuild(
          staging,
          upstreamFiles.map((f) => f.to),
        ),
        (name) => targets.has(name),
      ),
      ours: indexSet(bufBuild(protoDir), (name) => !name.startsWith("google/protobuf/")),
    };
  }

  beforeAll(() => {
    try {
      loaded = load();
    } catch (e) {
      loaded = e instanceof Error ? e : new Error(String(e));
    }
  });

  afterAll(() => {
    if (staging !== undefined) rmSync(staging, { recursive: true, force: true });
  });

  it("staged every upstream file and found its declarations", () => {
    const { upstream } = indexes();
    expect(upstream.messages.size).toBeGreaterThan(200);
    expect(upstream.services.size).toBe(14);
    expect(new Set([...upstream.messages.values()].map((m) => m.file)).size).toBe(upstreamFiles.length);
  });

  it("declares every upstream message, and no message upstream lacks", () => {
    const { upstream, ours } = indexes();
    const missing = [...upstream.messages.keys()].filter((n) => !ours.messages.has(n));
    const extra = [...ours.messages.keys()].filter((n) => !upstream.messages.has(n));
    expect(missing).toEqual([]);
    expect(extra).toEqual([]);
  });

  it("gives every shared message the same fields (name, number, label, type)", () => {
    const { upstream, ours } = indexes();
    const diffs: string[] = [];
    for (const [name, theirs] of upstream.messages) {
      const mine = ours.messages.get(name);
      if (mine === undefined) continue;
      for (const [field, sig] of theirs.fields) {
        const m = mine.fields.get(field);
        if (m !== sig) diffs.push(`${name}.${field}: upstream "${sig}", ours "${m ?? "missing"}"`);
      }
      for (const field of mine.fields.keys()) {
        if (!theirs.fields.has(field)) diffs.push(`${name}.${field}: not upstream`);
      }
    }
    expect(diffs).toEqual([]);
  });

  it("gives every enum the same values", () => {
    const { upstream, ours } = indexes();
    const diffs: string[] = [];
    for (const [name, theirs] of upstream.enums) {
      const mine = ours.enums.get(name);
      if (JSON.stringify(mine?.values) !== JSON.stringify(theirs.values)) {
        diffs.push(`${name}: upstream ${theirs.values.join(",")}, ours ${mine?.values.join(",") ?? "missing"}`);
      }
    }
    for (const name of ours.enums.keys()) if (!upstream.enums.has(name)) diffs.push(`${name}: not upstream`);
    expect(diffs).toEqual([]);
  });

  it("declares every upstream service method with the same request, response and streaming", () => {
    const { upstream, ours } = indexes();
    const diffs: string[] = [];
    for (const [name, theirs] of upstream.services) {
      const mine = ours.services.get(name);
      if (mine === undefined) {
        diffs.push(`${name}: service missing`);
        continue;
      }
      for (const [method, sig] of theirs.methods) {
        const m = mine.methods.get(method);
        if (m !== sig) diffs.push(`${name}/${method}: upstream "${sig}", ours "${m ?? "missing"}"`);
      }
      for (const method of mine.methods.keys()) {
        if (!theirs.methods.has(method)) diffs.push(`${name}/${method}: not upstream`);
      }
    }
    for (const name of ours.services.keys()) if (!upstream.services.has(name)) diffs.push(`${name}: not upstream`);
    expect(diffs).toEqual([]);
  });

  it("uses no gogoproto or fieldpath imports in our sources", () => {
    indexes();
    const set = bufBuild(protoDir);
    const deps = (set.file ?? []).flatMap((f) => f.dependency ?? []);
    expect(deps.filter((d) => d.includes("gogo") || d.includes("fieldpath"))).toEqual([]);
    expect(listProtos(protoDir).length).toBe((set.file ?? []).filter((f) => !f.name?.startsWith("google/protobuf/")).length);
  });

  it("registers a codec for every message declared in our protos", () => {
    const { ours } = indexes();
    const declared = [...ours.messages].filter(([, m]) => !m.mapEntry).map(([n]) => n);
    expect(declared.filter((n) => !Object.hasOwn(messageTypes, n))).toEqual([]);
    expect(declared).toContain("io.containerd.cgroups.v1.BlkIOEntry");
  });
});
