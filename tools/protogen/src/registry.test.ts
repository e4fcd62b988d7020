import { describe, expect, it } from "vitest";
import { fieldpathKind, fieldpathSelection, flattenMessages, renderRegistry, tsPropertyName } from "./registry.js";

describe("tsPropertyName", () => {
  it("follows ts-proto's snakeToCamel", () => {
    expect(tsPropertyName("container_id")).toBe("containerId");
    expect(tsPropertyName("pg_pg_in")).toBe("pgPgIn");
    expect(tsPropertyName("io")).toBe("io");
    expect(tsPropertyName("FOO_BAR")).toBe("fooBar");
  });
});

describe("fieldpathKind", () => {
  const labelsEntry = ".x.Ev.LabelsEntry";
  const entries = new Map([[labelsEntry, { name: "LabelsEntry", options: { mapEntry: true } }]]);
  it("classifies fields as containerd's fieldpath generator does", () => {
    expect(fieldpathKind({ name: "id", type: "TYPE_STRING" }, entries)).toBe("string");
    expect(fieldpathKind({ name: "terminal", type: "TYPE_BOOL" }, entries)).toBe("bool");
    expect(fieldpathKind({ name: "pid", type: "TYPE_UINT32" }, entries)).toBeUndefined();
    expect(
      fieldpathKind({ name: "labels", type: "TYPE_MESSAGE", label: "LABEL_REPEATED", typeName: labelsEntry }, entries),
    ).toBe("labels");
    expect(fieldpathKind({ name: "opts", type: "TYPE_MESSAGE", typeName: ".google.protobuf.Any" }, entries)).toBe("any");
    expect(
      fieldpathKind({ name: "at", type: "TYPE_MESSAGE", typeName: ".google.protobuf.Timestamp" }, entries),
    ).toBeUndefined();
    expect(fieldpathKind({ name: "io", type: "TYPE_MESSAGE", typeName: ".x.TaskIO" }, entries)).toBe("message");
    expect(
      fieldpathKind({ name: "rootfs", type: "TYPE_MESSAGE", label: "LABEL_REPEATED", typeName: ".x.Mount" }, entries),
    ).toBeUndefined();
  });
});

describe("renderRegistry", () => {
  const set = {
    file: [
      {
        name: "containerd/events/container.proto",
        package: "containerd.events",
        messageType: [
          {
            name: "ContainerCreate",
            field: [
              { name: "id", number: 1, type: "TYPE_STRING" },
              { name: "runtime", number: 3, type: "TYPE_MESSAGE", typeName: ".containerd.events.ContainerCreate.Runtime" },
            ],
            nestedType: [{ name: "Runtime", field: [{ name: "name", number: 1, type: "TYPE_STRING" }] }],
          },
        ],
      },
      {
        name: "a/b.proto",
        package: "a",
        messageType: [
          {
            name: "M",
            field: [{ name: "labels", number: 1, type: "TYPE_MESSAGE", label: "LABEL_REPEATED", typeName: ".a.M.LabelsEntry" }],
            nestedType: [{ name: "LabelsEntry", options: { mapEntry: true } }],
          },
        ],
      },
    ],
  };

  it("flattens nested messages, skips map entries and sorts by file", () => {
    expect(flattenMessages(set).map((m) => [m.fullName, m.tsName])).toEqual([
      ["a.M", "M"],
      ["containerd.events.ContainerCreate", "ContainerCreate"],
      ["containerd.events.ContainerCreate.Runtime", "ContainerCreate_Runtime"],
    ]);
  });

  it("refuses a descriptor set without the fieldpath files", () => {
    expect(() => renderRegistry(set, { header: "h" })).toThrow(/fieldpath file/);
  });

  it("renders imports, the type map, codecs and fieldpath tables", () => {
    const files = fieldpathSelection.files
      .filter((name) => !set.file.some((f) => f.name === name))
      .map((name) => ({ name, package: "p" }));
    const envelopes = fieldpathSelection.messages.map((full, i) => ({
      name: `env${i}.proto`,
      package: full.slice(0, full.lastIndexOf(".")),
      messageType: [{ name: "Envelope", field: [{ name: "topic", number: 3, type: "TYPE_STRING" }] }],
    }));
    const full = { file: [...set.file, ...files, ...envelopes] };
    const out = renderRegistry(full, { header: "Code generated. DO NOT EDIT." });
    expect(out.startsWith("// Code generated. DO NOT EDIT.\n")).toBe(true);
    expect(out).toContain('import * as containerd_events_container from "./containerd/events/container.js";');
    expect(out).toContain('"containerd.events.ContainerCreate.Runtime": containerd_events_container.ContainerCreate_Runtime;');
    expect(out).toContain(
      'runtime: { key: "runtime", kind: "message", type: "containerd.events.ContainerCreate.Runtime" },',
    );
    expect(out).toContain('"containerd.services.events.v1.Envelope": {\n    topic: { key: "topic", kind: "string" },');
    expect(out).not.toContain('"a.M": {');
    expect(renderRegistry(full, { header: "Code generated. DO NOT EDIT." })).toBe(out);
  });
});
