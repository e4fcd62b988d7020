/**
 * Renders `packages/api/src/gen/registry.ts` from the descriptor set of the .proto sources.
 *
 * The registry maps every generated message's full protobuf name (which is also the bare type URL that
 * containerd 1.6 writes into `google.protobuf.Any.type_url`) to its ts-proto codec, and carries the field
 * tables that event filtering needs (containerd generates a `Field(fieldpath)` adaptor for the event
 * messages and the envelopes; see `fieldpathMessages`).
 *
 * Plain JavaScript with JSDoc types (checked by `tsc --checkJs`) so that Node 20 runs it without a build.
 */

/**
 * @typedef {{ name?: string, number?: number, label?: string, type?: string, typeName?: string, jsonName?: string }} FieldJson
 * @typedef {{ name?: string, field?: FieldJson[], nestedType?: MessageJson[], enumType?: unknown[], options?: { mapEntry?: boolean } }} MessageJson
 * @typedef {{ name?: string, package?: string, messageType?: MessageJson[] }} FileJson
 * @typedef {{ file?: FileJson[] }} FileDescriptorSetJson
 */

/**
 * Which messages get a fieldpath table: containerd's `fieldpath_all` files (every event message, image
 * events included) and the two `Envelope` messages that carry the `fieldpath` option.
 */
export const fieldpathSelection = {
  /** Proto files (paths inside packages/api/proto) whose messages all get a table. */
  files: [
    "containerd/events/container.proto",
    "containerd/events/content.proto",
    "containerd/events/namespace.proto",
    "containerd/events/snapshot.proto",
    "containerd/events/task.proto",
    "containerd/services/images/v1/events.proto",
  ],
  /** Single messages, by full name. */
  messages: ["containerd.services.events.v1.Envelope", "containerd.services.events.ttrpc.v1.Envelope"],
};

/**
 * ts-proto's property name for a proto field name (its `snakeToCamel`, default options).
 * @param {string} name
 * @returns {string}
 */
export function tsPropertyName(name) {
  if (!name.includes("_")) return name;
  const hasLowerCase = /[a-z]/.test(name);
  return name
    .split("_")
    .map((word, i) => {
      const w = hasLowerCase ? word : word.toLowerCase();
      return i === 0 ? w : w.slice(0, 1).toUpperCase() + w.slice(1);
    })
    .join("");
}

/**
 * One message of the descriptor set, flattened.
 * @typedef {{ fullName: string, tsName: string, file: string, message: MessageJson, mapEntries: Map<string, MessageJson> }} FlatMessage
 */

/**
 * Every message (nested ones included, map entries excluded) in file order, then declaration order.
 * @param {FileDescriptorSetJson} set
 * @returns {FlatMessage[]}
 */
export function flattenMessages(set) {
  /** @type {FlatMessage[]} */
  const out = [];
  const files = [...(set.file ?? [])].sort((a, b) => cmp(a.name ?? "", b.name ?? ""));
  for (const file of files) {
    const pkg = file.package ?? "";
    /**
     * @param {MessageJson} m
     * @param {string[]} path
     */
    const visit = (m, path) => {
      if (m.options?.mapEntry) return;
      const names = [...path, m.name ?? ""];
      /** @type {Map<string, MessageJson>} */
      const mapEntries = new Map();
      for (const n of m.nestedType ?? []) {
        if (n.options?.mapEntry) mapEntries.set(`.${pkg ? `${pkg}.` : ""}${[...names, n.name ?? ""].join(".")}`, n);
      }
      out.push({
        fullName: `${pkg ? `${pkg}.` : ""}${names.join(".")}`,
        tsName: names.join("_"),
        file: file.name ?? "",
        message: m,
        mapEntries,
      });
      for (const n of m.nestedType ?? []) visit(n, names);
    };
    for (const m of file.messageType ?? []) visit(m, []);
  }
  return out;
}

/**
 * The fieldpath kind of a field, following containerd's fieldpath generator: strings, bools, the
 * `labels` map, Any fields and singular message fields (except Timestamp) are reachable; everything
 * else (numbers, repeated fields, other maps, timestamps) is not.
 * @param {FieldJson} f
 * @param {Map<string, MessageJson>} mapEntries
 * @returns {"string" | "bool" | "labels" | "any" | "message" | undefined}
 */
export function fieldpathKind(f, mapEntries) {
  const repeated = f.label === "LABEL_REPEATED";
  if (f.type === "TYPE_MESSAGE" && repeated && f.name === "labels" && (f.typeName ?? "").endsWith(".LabelsEntry")) {
    return mapEntries.has(f.typeName ?? "") ? "labels" : undefined;
  }
  if (repeated) return undefined;
  switch (f.type) {
    case "TYPE_STRING":
      return "string";
    case "TYPE_BOOL":
      return "bool";
    case "TYPE_MESSAGE":
      if (f.typeName === ".google.protobuf.Any") return "any";
      if (f.typeName === ".google.protobuf.Timestamp") return undefined;
      return "message";
    default:
      return undefined;
  }
}

/**
 * A module alias for an import of a generated file: its path with every non-identifier character
 * replaced by "_".
 * @param {string} protoFile
 */
function moduleAlias(protoFile) {
  return protoFile.replace(/\.proto$/, "").replace(/[^A-Za-z0-9]/g, "_");
}

/**
 * @param {string} a
 * @param {string} b
 */
function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Renders registry.ts.
 * @param {FileDescriptorSetJson} set descriptor set of the sources (with imports), as `buf build` JSON
 * @param {{ header: string }} options
 * @returns {string}
 */
export function renderRegistry(set, options) {
  const messages = flattenMessages(set);
  const files = [...new Set(messages.map((m) => m.file))].sort(cmp);
  const selectedFiles = new Set(fieldpathSelection.files);
  const selectedMessages = new Set(fieldpathSelection.messages);
  const setFiles = new Set((set.file ?? []).map((f) => f.name ?? ""));
  for (const f of selectedFiles) {
    if (!setFiles.has(f)) throw new Error(`fieldpath file ${f} is not in the descriptor set`);
  }
  for (const name of selectedMessages) {
    if (!messages.some((m) => m.fullName === name)) throw new Error(`fieldpath message ${name} is not in the descriptor set`);
  }

  /** @type {string[]} */
  const lines = [];
  lines.push(...options.header.split("\n").map((l) => (l ? `// ${l}` : "//")));
  lines.push("");
  lines.push(`import type { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";`);
  for (const f of files) {
    lines.push(`import * as ${moduleAlias(f)} from "./${f.replace(/\.proto$/, ".js")}";`);
  }
  lines.push("");
  lines.push("/** The binary and JSON codec ts-proto generates for a message type. */");
  lines.push("export interface MessageCodec<T> {");
  lines.push("  encode(message: T, writer?: BinaryWriter): BinaryWriter;");
  lines.push("  decode(input: BinaryReader | Uint8Array, length?: number): T;");
  lines.push("  fromJSON(object: any): T;");
  lines.push("  toJSON(message: T): unknown;");
  lines.push("}");
  lines.push("");
  lines.push("/** Every generated message type, keyed by its full protobuf name (= its bare type URL). */");
  lines.push("export interface MessageTypeMap {");
  for (const m of messages) {
    lines.push(`  ${JSON.stringify(m.fullName)}: ${moduleAlias(m.file)}.${m.tsName};`);
  }
  lines.push("}");
  lines.push("");
  lines.push("/** The codec of every generated message type, keyed by its full protobuf name (= its bare type URL). */");
  lines.push("export const messageTypes: { readonly [U in keyof MessageTypeMap]: MessageCodec<MessageTypeMap[U]> } = {");
  for (const m of messages) {
    lines.push(`  ${JSON.stringify(m.fullName)}: ${moduleAlias(m.file)}.${m.tsName},`);
  }
  lines.push("};");
  lines.push("");
  lines.push("/** How a field is reached by a fieldpath (see fieldpathMessages). */");
  lines.push("export interface FieldpathField {");
  lines.push("  /** Property name in the generated TypeScript interface. */");
  lines.push("  readonly key: string;");
  lines.push('  readonly kind: "string" | "bool" | "labels" | "any" | "message";');
  lines.push('  /** Full name of the nested message type, for kind "message". */');
  lines.push("  readonly type?: string;");
  lines.push("}");
  lines.push("");
  lines.push("/**");
  lines.push(" * Field tables of the messages containerd gives a `Field(fieldpath)` adaptor (every event and both");
  lines.push(" * envelopes), keyed by full name, then by proto field name. Fields that are not listed (numbers,");
  lines.push(" * repeated fields, timestamps) cannot be matched by a filter.");
  lines.push(" */");
  lines.push(
    "export const fieldpathMessages: { readonly [typeUrl: string]: { readonly [field: string]: FieldpathField } | undefined } = {",
  );
  for (const m of messages) {
    if (!selectedFiles.has(m.file) && !selectedMessages.has(m.fullName)) continue;
    lines.push(`  ${JSON.stringify(m.fullName)}: {`);
    for (const f of m.message.field ?? []) {
      const kind = fieldpathKind(f, m.mapEntries);
      if (kind === undefined) continue;
      const name = f.name ?? "";
      const type = kind === "message" ? `, type: ${JSON.stringify((f.typeName ?? "").replace(/^\./, ""))}` : "";
      lines.push(`    ${name}: { key: ${JSON.stringify(tsPropertyName(name))}, kind: ${JSON.stringify(kind)}${type} },`);
    }
    lines.push("  },");
  }
  lines.push("};");
  lines.push("");
  return lines.join("\n");
}
