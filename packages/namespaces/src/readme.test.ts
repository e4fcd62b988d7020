import { describe, expect, it } from "vitest";
import {
  adaptFields,
  applyLabelPaths,
  background,
  namespaceRequired,
  parseFilters,
  validateLabels,
  withLease,
  withNamespace,
} from "./index.js";

// The examples of README.md, kept honest.
describe("README examples", () => {
  it("context", () => {
    const ac = new AbortController();
    const ctx = withLease(withNamespace(background(ac.signal), "default"), "my-lease");
    expect(namespaceRequired(ctx)).toBe("default");
    expect(() => namespaceRequired(background())).toThrow("namespace is required: failed precondition");
    expect(() => namespaceRequired(withNamespace(ctx, "a/b"))).toThrow(
      'namespace validation: identifier "a/b" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument',
    );
  });

  it("filters", () => {
    interface Container {
      id: string;
      image: string;
      runtime: { name: string };
      labels: Record<string, string>;
    }
    const adapt = (c: Container) =>
      adaptFields(
        { id: c.id || undefined, image: c.image || undefined, "runtime.name": c.runtime.name || undefined },
        { labels: c.labels },
      );
    const filter = parseFilters([
      'labels."containerd.io/restart.status"==running,runtime.name~=^io\\.containerd\\.',
      "id==web",
    ]);
    const containers: Container[] = [
      { id: "web", image: "nginx", runtime: { name: "io.containerd.runc.v2" }, labels: {} },
      {
        id: "db",
        image: "redis",
        runtime: { name: "io.containerd.runc.v2" },
        labels: { "containerd.io/restart.status": "running" },
      },
      { id: "tmp", image: "busybox", runtime: { name: "io.containerts.tsrunc.v1" }, labels: {} },
    ];
    expect(containers.filter((c) => filter.match(adapt(c))).map((c) => c.id)).toEqual(["web", "db"]);
    expect(() => parseFilters(["topic==/tasks/exit"])).toThrow(
      "filters: parse error: [topic== >|/|< tasks/exit]: invalid quote encountered: invalid argument",
    );
  });

  it("update masks", () => {
    const stored = { a: "1", b: "2" };
    expect(applyLabelPaths(stored, { a: "", c: "3" }, ["labels.a", "labels.c"])).toEqual({ b: "2", c: "3" });
    expect(applyLabelPaths(stored, { c: "3" }, [])).toEqual({ c: "3" });
    expect(() => applyLabelPaths(stored, {}, ["size"], { object: 'content info "sha256:…"' })).toThrow(
      'cannot update "size" field on content info "sha256:…": invalid argument',
    );
    expect(() => validateLabels({ k: "v".repeat(5000) })).toThrow(
      "label key and value greater than maximum size (4096 bytes), key: k: invalid argument",
    );
  });
});
