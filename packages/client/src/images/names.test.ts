import { describe, expect, it } from "vitest";

import { appendSource, distributionSourceKey } from "./fetch.js";
import { defaultImportPrefix, familiarizeReference, imageNameOf, normalizeReference, ociReferenceName, refTranslator } from "./names.js";
import { mountCandidate } from "./push.js";
import { refKey } from "./services.js";

describe("archive names (containerd's images/archive/reference.go)", () => {
  it("normalizes Docker references", () => {
    expect(normalizeReference("busybox")).toBe("docker.io/library/busybox:latest");
    expect(normalizeReference("busybox:1.36")).toBe("docker.io/library/busybox:1.36");
    expect(normalizeReference("foo/bar:x")).toBe("docker.io/foo/bar:x");
    expect(normalizeReference("127.0.0.1:5000/a/b:c")).toBe("127.0.0.1:5000/a/b:c");
    const d = `sha256:${"a".repeat(64)}`;
    expect(normalizeReference(`busybox:1@${d}`)).toBe(`docker.io/library/busybox@${d}`);
    expect(() => normalizeReference("Not Valid")).toThrow(/normalize image ref "Not Valid"/);
  });

  it("familiarizes references as docker shows them", () => {
    expect(familiarizeReference("docker.io/library/busybox:latest")).toBe("busybox:latest");
    expect(familiarizeReference("docker.io/library/busybox")).toBe("busybox:latest");
    expect(familiarizeReference("docker.io/foo/bar:1")).toBe("foo/bar:1");
    expect(familiarizeReference("127.0.0.1:5000/x:1")).toBe("127.0.0.1:5000/x:1");
  });

  it("takes the OCI reference name from what follows the repository", () => {
    expect(ociReferenceName("docker.io/library/busybox:latest")).toBe("latest");
    expect(ociReferenceName("127.0.0.1:5000/a/b:tag")).toBe("tag");
    const d = `sha256:${"b".repeat(64)}`;
    expect(ociReferenceName(`docker.io/x/y@${d}`)).toBe(`@${d}`);
    expect(ociReferenceName("docker.io/x/y")).toBe("");
    // Without a slash the whole name is the host: nothing, unless it does not parse as one.
    expect(ociReferenceName("foo:1")).toBe("");
    expect(ociReferenceName("busybox:latest")).toBe("busybox:latest");
  });

  it("translates tag-only names with ctr's prefix rules", () => {
    const add = refTranslator("import-2024-01-01", false);
    expect(add("latest")).toBe("import-2024-01-01:latest");
    expect(add("docker.io/library/busybox:1")).toBe("docker.io/library/busybox:1");
    const filter = refTranslator("foo/bar", true);
    expect(filter("latest")).toBe("foo/bar:latest");
    expect(filter("foo/bar:1")).toBe("foo/bar:1");
    expect(filter("foo/barbaz:1")).toBe("");
    expect(filter("other/x:1")).toBe("");
    expect(imageNameOf({ "io.containerd.image.name": "a/b:c", "org.opencontainers.image.ref.name": "c" }, add)).toBe("a/b:c");
    expect(imageNameOf({ "org.opencontainers.image.ref.name": "v1" }, add)).toBe("import-2024-01-01:v1");
    expect(imageNameOf(undefined, add)).toBe("");
    expect(defaultImportPrefix(new Date(2024, 0, 2))).toBe("import-2024-01-02");
  });
});

describe("fetch and push labels", () => {
  it("names ingests like remotes.MakeRefKey", () => {
    const d = `sha256:${"c".repeat(64)}` as const;
    expect(refKey({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d })).toBe(`manifest-${d}`);
    expect(refKey({ mediaType: "application/vnd.docker.distribution.manifest.list.v2+json", digest: d })).toBe(`index-${d}`);
    expect(refKey({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: d })).toBe(`layer-${d}`);
    expect(refKey({ mediaType: "application/vnd.docker.container.image.v1+json", digest: d })).toBe(`config-${d}`);
    expect(refKey({ mediaType: "text/plain", digest: d })).toBe(`unknown-${d}`);
    expect(refKey({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d, annotations: { "org.opencontainers.image.ref.name": "latest" } })).toBe(
      `manifest-latest@${d}`,
    );
  });

  it("keys distribution sources by host name without port and keeps repositories sorted and unique", () => {
    expect(distributionSourceKey("127.0.0.1:5000")).toBe("containerd.io/distribution.source.127.0.0.1");
    expect(distributionSourceKey("docker.io")).toBe("containerd.io/distribution.source.docker.io");
    expect(distributionSourceKey("[::1]:5000")).toBe("containerd.io/distribution.source.::1");
    expect(appendSource(undefined, "b/c")).toBe("b/c");
    expect(appendSource("b/c", "a")).toBe("a,b/c");
    expect(appendSource("a,b/c", "b/c")).toBe("a,b/c");
  });

  it("picks the mount source sharing the longest path prefix, never the target", () => {
    const key = "containerd.io/distribution.source.127.0.0.1";
    expect(mountCandidate({ [key]: "library/busybox" }, "127.0.0.1:5000", "library/busybox")).toBeUndefined();
    expect(mountCandidate({ [key]: "other/x,library/busybox" }, "127.0.0.1:5000", "library/copy")).toBe("library/busybox");
    expect(mountCandidate({ [key]: "a" }, "127.0.0.1:5000", "b")).toBe("a");
    expect(mountCandidate({ "containerd.io/distribution.source.example.com": "a" }, "127.0.0.1:5000", "b")).toBeUndefined();
  });
});
