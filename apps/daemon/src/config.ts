/**
 * containertsd's configuration: containerd's version-2 config.toml shape, for the parts that apply.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { InvalidArgumentError, NotFoundError } from "@containerts/errdefs";

/** Default paths: they never collide with a real containerd on the same host. */
export const defaults = {
  root: "/var/lib/containerts",
  state: "/run/containerts",
  address: "/run/containerts/containerts.sock",
  config: "/etc/containerts/config.toml",
  maxMessageSize: 16 << 20,
} as const;

/** The resolved daemon configuration. */
export interface DaemonConfig {
  readonly version: number;
  readonly root: string;
  readonly state: string;
  readonly grpc: {
    readonly address: string;
    readonly uid: number;
    readonly gid: number;
    readonly maxRecvMessageSize: number;
    readonly maxSendMessageSize: number;
  };
  readonly ttrpc: { readonly address: string; readonly uid: number; readonly gid: number };
  readonly debug: { readonly level: string };
  readonly disabledPlugins: readonly string[];
  readonly requiredPlugins: readonly string[];
  /** npm package names imported at start; each exports `plugins` (registrations). */
  readonly externalPlugins: readonly string[];
  /** `[plugins."<type>.<id>"]` sections, keyed by plugin URI. */
  readonly plugins: Readonly<Record<string, Record<string, unknown>>>;
  /** Keys found in the file that containertsd does not know (warned about at start). */
  readonly unknownKeys: readonly string[];
  /** Keys containerd knows that containertsd accepts but does not act on (logged at start). */
  readonly ignoredKeys: readonly string[];
}

/** Command-line overrides (flags win over the file). */
export interface ConfigOverrides {
  readonly root?: string | undefined;
  readonly state?: string | undefined;
  readonly address?: string | undefined;
  readonly logLevel?: string | undefined;
}

const known: Readonly<Record<string, "apply" | "ignore" | Readonly<Record<string, "apply" | "ignore">>>> = {
  version: "apply",
  root: "apply",
  state: "apply",
  disabled_plugins: "apply",
  required_plugins: "apply",
  external_plugins: "apply",
  plugins: "apply",
  temp: "ignore",
  plugin_dir: "ignore",
  oom_score: "ignore",
  imports: "ignore",
  proxy_plugins: "ignore",
  stream_processors: "ignore",
  timeouts: "ignore",
  grpc: { address: "apply", uid: "apply", gid: "apply", max_recv_message_size: "apply", max_send_message_size: "apply", tcp_address: "ignore", tcp_tls_ca: "ignore", tcp_tls_cert: "ignore", tcp_tls_key: "ignore" },
  ttrpc: { address: "apply", uid: "apply", gid: "apply" },
  debug: { level: "apply", address: "ignore", uid: "ignore", gid: "ignore", format: "ignore" },
  metrics: { address: "ignore", grpc_histogram: "ignore" },
  cgroup: { path: "ignore" },
};

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function classifyKeys(doc: Table): { unknown: string[]; ignored: string[] } {
  const unknown: string[] = [];
  const ignored: string[] = [];
  for (const [k, v] of Object.entries(doc)) {
    const rule = known[k];
    if (rule === undefined) unknown.push(k);
    else if (rule === "ignore") ignored.push(k);
    else if (typeof rule === "object" && isTable(v)) {
      for (const sub of Object.keys(v)) {
        const r = rule[sub];
        if (r === undefined) unknown.push(`${k}.${sub}`);
        else if (r === "ignore") ignored.push(`${k}.${sub}`);
      }
    }
  }
  return { unknown, ignored };
}

function str(doc: Table, key: string, where: string): string | undefined {
  const v = doc[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new InvalidArgumentError(`config: ${where}${key} must be a string`);
  return v;
}

/** A top-level directory, made absolute against the working directory (containerd refuses an empty one). */
function directory(key: string, v: string): string {
  if (v === "") throw new InvalidArgumentError(`config: ${key} must be specified`);
  return resolve(v);
}

function int(doc: Table, key: string, where: string): number | undefined {
  const v = doc[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new InvalidArgumentError(`config: ${where}${key} must be a non-negative integer`);
  }
  return v;
}

function strings(doc: Table, key: string): string[] {
  const v = doc[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new InvalidArgumentError(`config: ${key} must be a list of strings`);
  }
  return v as string[];
}

/** Parses TOML text in containerd's version-2 shape and applies flag overrides. */
export function parseConfig(text: string, overrides: ConfigOverrides = {}): DaemonConfig {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (err) {
    throw new InvalidArgumentError(`config: ${(err as Error).message.split("\n")[0]}`, { cause: err });
  }
  const version = int(doc, "version", "") ?? 1;
  if (version !== 1 && version !== 2) throw new InvalidArgumentError(`config: unsupported config version ${version}`);
  const grpc = isTable(doc["grpc"]) ? doc["grpc"] : {};
  const ttrpc = isTable(doc["ttrpc"]) ? doc["ttrpc"] : {};
  const debug = isTable(doc["debug"]) ? doc["debug"] : {};
  const pluginsDoc = isTable(doc["plugins"]) ? doc["plugins"] : {};
  const plugins: Record<string, Record<string, unknown>> = {};
  for (const [uri, section] of Object.entries(pluginsDoc)) {
    if (!isTable(section)) throw new InvalidArgumentError(`config: plugins."${uri}" must be a table`);
    plugins[uri] = section;
  }
  // Paths are made absolute against the working directory, as containerd's listeners and directories
  // treat relative ones; shims run in their bundle directory and must get absolute paths.
  const address = resolve(overrides.address ?? str(grpc, "address", "grpc.") ?? defaults.address);
  const root = directory("root", overrides.root ?? str(doc, "root", "") ?? defaults.root);
  const state = directory("state", overrides.state ?? str(doc, "state", "") ?? defaults.state);
  if (root === state) throw new InvalidArgumentError("config: root and state must be different paths");
  const { unknown, ignored } = classifyKeys(doc);
  return {
    version,
    root,
    state,
    grpc: {
      address,
      uid: int(grpc, "uid", "grpc.") ?? 0,
      gid: int(grpc, "gid", "grpc.") ?? 0,
      maxRecvMessageSize: int(grpc, "max_recv_message_size", "grpc.") ?? defaults.maxMessageSize,
      maxSendMessageSize: int(grpc, "max_send_message_size", "grpc.") ?? defaults.maxMessageSize,
    },
    ttrpc: {
      address: resolve(str(ttrpc, "address", "ttrpc.") || `${address}.ttrpc`),
      uid: int(ttrpc, "uid", "ttrpc.") ?? 0,
      gid: int(ttrpc, "gid", "ttrpc.") ?? 0,
    },
    debug: { level: overrides.logLevel ?? str(debug, "level", "debug.") ?? "info" },
    disabledPlugins: strings(doc, "disabled_plugins"),
    requiredPlugins: strings(doc, "required_plugins"),
    externalPlugins: strings(doc, "external_plugins"),
    plugins,
    unknownKeys: unknown,
    ignoredKeys: ignored,
  };
}

/**
 * Loads the configuration file. A missing file at the default path means "all defaults"; a missing file
 * named explicitly with `--config` is an error, as in containerd.
 */
export async function loadConfig(path: string | undefined, overrides: ConfigOverrides = {}): Promise<DaemonConfig> {
  const file = path ?? defaults.config;
  let text = "";
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" || path !== undefined) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(`config file ${file}`);
      throw err;
    }
  }
  return parseConfig(text, overrides);
}

/** Renders the default configuration as TOML (for `containertsd config default`). */
export function defaultConfigToml(): string {
  return [
    "version = 2",
    `root = "${defaults.root}"`,
    `state = "${defaults.state}"`,
    "disabled_plugins = []",
    "external_plugins = []",
    "",
    "[grpc]",
    `  address = "${defaults.address}"`,
    "  uid = 0",
    "  gid = 0",
    `  max_recv_message_size = ${defaults.maxMessageSize}`,
    `  max_send_message_size = ${defaults.maxMessageSize}`,
    "",
    "[ttrpc]",
    '  address = ""',
    "",
    "[debug]",
    '  level = "info"',
    "",
  ].join("\n");
}
