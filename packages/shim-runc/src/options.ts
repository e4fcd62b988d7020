/**
 * The runtime options a client may pass to Create (`containerd.runc.v1.Options`), and the files the
 * shim keeps in the bundle so that `delete` (run without a server) drives the same runc the same way:
 * `options.json` (the options, snake_case keys, zero values left out) and `runtime` (the binary name).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** `containerd.runc.v1.Options`, as a domain value. */
export interface RuncOptions {
  readonly noPivotRoot: boolean;
  readonly noNewKeyring: boolean;
  /** Cgroup to put the shim in (honoured by `start`). */
  readonly shimCgroup: string;
  /** Owner of the stdio pipes. */
  readonly ioUid: number;
  readonly ioGid: number;
  /** The OCI runtime binary; "" means `runc`. */
  readonly binaryName: string;
  /** runc's state root; "" means {@link DEFAULT_RUNC_ROOT}. The namespace is appended. */
  readonly root: string;
  readonly criuPath: string;
  readonly systemdCgroup: boolean;
  readonly criuImagePath: string;
  readonly criuWorkPath: string;
}

/**
 * runc's state root when the options name none. containerd's runc shim uses `/run/containerd/runc`; this
 * shim keeps its containers apart from a stock containerd's on the same host.
 */
export const DEFAULT_RUNC_ROOT = "/run/containerts/runc";

/** The empty options. */
export const EMPTY_OPTIONS: RuncOptions = {
  noPivotRoot: false,
  noNewKeyring: false,
  shimCgroup: "",
  ioUid: 0,
  ioGid: 0,
  binaryName: "",
  root: "",
  criuPath: "",
  systemdCgroup: false,
  criuImagePath: "",
  criuWorkPath: "",
};

const JSON_KEYS: Readonly<Record<keyof RuncOptions, string>> = {
  noPivotRoot: "no_pivot_root",
  noNewKeyring: "no_new_keyring",
  shimCgroup: "shim_cgroup",
  ioUid: "io_uid",
  ioGid: "io_gid",
  binaryName: "binary_name",
  root: "root",
  criuPath: "criu_path",
  systemdCgroup: "systemd_cgroup",
  criuImagePath: "criu_image_path",
  criuWorkPath: "criu_work_path",
};

/** The runc binary the options select. */
export function runtimeBinary(o: RuncOptions): string {
  return o.binaryName === "" ? "runc" : o.binaryName;
}

/** runc's `--root` for a namespace under the options. */
export function runcRoot(o: RuncOptions, namespace: string): string {
  return join(o.root === "" ? DEFAULT_RUNC_ROOT : o.root, namespace);
}

/** The options as containerd writes them to `options.json`. */
export function optionsToJson(o: RuncOptions): string {
  const out: Record<string, unknown> = {};
  for (const [k, key] of Object.entries(JSON_KEYS) as [keyof RuncOptions, string][]) {
    const v = o[k];
    if (v !== "" && v !== 0 && v !== false) out[key] = v;
  }
  return JSON.stringify(out);
}

/** Parses `options.json`; unknown or mistyped keys are ignored. */
export function optionsFromJson(text: string): RuncOptions {
  const parsed: unknown = JSON.parse(text);
  const src = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const out: Record<string, unknown> = { ...EMPTY_OPTIONS };
  for (const [k, key] of Object.entries(JSON_KEYS) as [keyof RuncOptions, string][]) {
    const v = src[key];
    if (typeof v === typeof EMPTY_OPTIONS[k]) out[k] = v;
  }
  return out as unknown as RuncOptions;
}

/** Writes `options.json` and `runtime` into the bundle. */
export async function writeBundleOptions(bundle: string, o: RuncOptions): Promise<void> {
  await writeFile(join(bundle, "options.json"), optionsToJson(o), { mode: 0o600 });
  await writeFile(join(bundle, "runtime"), o.binaryName, { mode: 0o600 });
}

/** Reads the options a bundle was created with ({@link EMPTY_OPTIONS} when `options.json` is missing). */
export async function readBundleOptions(bundle: string): Promise<RuncOptions> {
  let text: string;
  try {
    text = await readFile(join(bundle, "options.json"), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return EMPTY_OPTIONS;
    throw err;
  }
  const o = optionsFromJson(text);
  try {
    const binary = (await readFile(join(bundle, "runtime"), "utf8")).trim();
    if (binary !== "" && o.binaryName === "") return { ...o, binaryName: binary };
  } catch {
    // no runtime file: the options decide
  }
  return o;
}
