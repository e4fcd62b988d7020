/**
 * The package's export map: every subpath resolves through the package name to a hand-written barrel
 * that exposes the expected generated symbols.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as {
  exports: Record<string, Record<string, string> | null>;
};

/** A few symbols each subpath must export (values, so they can be checked at run time). */
const expected: Record<string, readonly string[]> = {
  ".": ["containerdApiVersion", "encodeAny", "decodeAny", "EventTypeUrl"],
  "./services/containers/v1": ["ContainersService", "ContainersClient", "Container", "Container_Runtime"],
  "./services/content/v1": ["ContentService", "ContentClient", "Info", "WriteAction", "WriteContentRequest"],
  "./services/diff/v1": ["DiffService", "DiffClient", "ApplyRequest", "DiffResponse"],
  "./services/events/v1": ["EventsService", "EventsClient", "Envelope", "SubscribeRequest"],
  "./services/ttrpc/events/v1": ["EventsService", "EventsClient", "Envelope", "ForwardRequest"],
  "./services/images/v1": ["ImagesService", "ImagesClient", "Image", "ImageCreate", "ImageDelete"],
  "./services/introspection/v1": ["IntrospectionService", "IntrospectionClient", "Plugin", "ServerResponse"],
  "./services/leases/v1": ["LeasesService", "LeasesClient", "Lease", "Resource"],
  "./services/namespaces/v1": ["NamespacesService", "NamespacesClient", "Namespace"],
  "./services/snapshots/v1": ["SnapshotsService", "SnapshotsClient", "Info", "Kind"],
  "./services/tasks/v1": ["TasksService", "TasksClient", "CreateTaskRequest", "WaitResponse"],
  "./services/version/v1": ["VersionService", "VersionClient", "VersionResponse"],
  "./types": ["Mount", "Descriptor", "Platform", "Metric"],
  "./types/task": ["Process", "ProcessInfo", "Status"],
  "./events": ["TaskExit", "TaskCreate", "ContainerCreate", "ContainerCreate_Runtime", "ImageCreate", "SnapshotPrepare"],
  "./runtime/task/v2": ["TaskService", "TaskClient", "StateResponse", "ConnectResponse", "TASK_SERVICE", "TaskMethods"],
  "./runc/options": ["Options", "CheckpointOptions", "ProcessDetails"],
  "./cgroups/v1": ["Metrics", "MemoryStat", "BlkIOEntry"],
  "./cgroups/v2": ["Metrics", "MemoryStat", "IOEntry"],
  "./health/v1": ["HealthService", "HealthClient", "HealthCheckResponse", "HealthCheckResponse_ServingStatus"],
  "./rpc": ["Status"],
  "./protobuf": ["Any", "Empty", "Timestamp", "FieldMask"],
  "./typeurl": ["packAny", "encodeAny", "decodeAny", "decodeAnyAs", "packJson", "unpackJson", "toTimestamp", "fromTimestamp", "eventFieldValue", "SpecTypeUrl", "RuncTypeUrl", "CgroupsTypeUrl"],
};

describe("package exports", () => {
  it("lists exactly the documented subpaths, each in the source/types/default form, and blocks internals", () => {
    expect(pkg.exports["./internal/*"]).toBeNull();
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== "./internal/*");
    expect(subpaths.sort()).toEqual(Object.keys(expected).sort());
    for (const sub of subpaths) {
      const entry = pkg.exports[sub];
      expect(entry && Object.keys(entry)).toEqual(["@containerts/source", "types", "default"]);
      const source = entry?.["@containerts/source"] ?? "";
      expect(existsSync(join(pkgDir, source)), source).toBe(true);
      const base = source.replace(/^\.\/src\//, "").replace(/\.ts$/, "");
      expect(entry?.["types"]).toBe(`./dist/${base}.d.ts`);
      expect(entry?.["default"]).toBe(`./dist/${base}.js`);
    }
  });

  it.each(Object.entries(expected))("resolves %s through the package name", async (sub, names) => {
    const mod = (await import(`@containerts/api${sub.slice(1)}`)) as Record<string, unknown>;
    for (const name of names) expect(mod[name], `${sub} ${name}`).toBeDefined();
  });
});
