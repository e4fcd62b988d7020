/**
 * Spec options: composable edits of an OCI runtime spec, applied in order when a container is created
 * (containerd's `oci.SpecOpts`). Options that need the image read it through the content store; options
 * that resolve users and groups mount the container's snapshot read-only on the client and read its
 * `/etc/passwd` and `/etc/group`, as containerd's Go client does.
 */
import { lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, isAbsolute, join, normalize as normalizePath } from "node:path";
import type { Descriptor, Provider } from "@containerts/content";
import { InvalidArgumentError, NotFoundError } from "@containerts/errdefs";
import { isConfigType, type PlatformMatchComparer, config as imageConfigDescriptor, defaultPlatformMatcher, readImageConfig } from "@containerts/images";
import type { Context } from "@containerts/namespaces";
import type { Mount } from "@containerts/snapshots";
import { DEFAULT_UNIX_ENV, type Spec, type SpecDevice, type SpecMount, type SpecNamespace, type SpecProcess } from "./oci.js";
import { readGroup, readPasswd, readonlyMounts, withTempMount } from "./rootfs.js";

/** What a spec option may use: the request context, the container being created, and the daemon. */
export interface SpecContext {
  readonly ctx: Context;
  /** The container being created: options that read the root filesystem look at its snapshot. */
  readonly container: { readonly id: string; readonly snapshotter: string; readonly snapshotKey: string };
  /** The content store (image configs). */
  readonly content: Provider;
  /** The mounts of the container's snapshot (`Snapshots.Mounts`). */
  snapshotMounts(snapshotter: string, key: string): Promise<Mount[]>;
}

/** An edit of a spec (containerd's `oci.SpecOpts`); options run in the order given. */
export type SpecOpt = (sc: SpecContext, spec: Spec) => void | Promise<void>;

/** An image as spec options need it: a name and the target descriptor of its index or manifest. */
export interface ContainerImage {
  readonly name: string;
  readonly target: Descriptor;
  /** The image record's labels (not the config's). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The execution parameters of an image config (`config` in its JSON), as the options use them. */
export interface ImageRunConfig {
  readonly env: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly workingDir: string;
  readonly user: string;
  readonly stopSignal: string;
  readonly labels: Readonly<Record<string, string>>;
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  }
  return out;
}

/**
 * Reads the execution parameters of `image` for `platform` (default: the host's), as containerd's
 * `image.Config` + `content.ReadBlob` + `json.Unmarshal` do.
 * @throws InvalidArgumentError `unknown image config media type <mt>` for another config type; NotFoundError
 *   when a blob is absent; the image model's errors for malformed documents.
 */
export async function readImageRunConfig(content: Provider, ctx: Context, image: ContainerImage, platform?: PlatformMatchComparer): Promise<ImageRunConfig> {
  const desc = await imageConfigDescriptor(content, ctx, image.target, platform ?? defaultPlatformMatcher());
  if (!isConfigType(desc.mediaType)) {
    throw new InvalidArgumentError(`unknown image config media type ${desc.mediaType}`, { bare: true });
  }
  const c = (await readImageConfig(content, ctx, desc)).config ?? {};
  return {
    env: stringList(c["Env"]),
    entrypoint: stringList(c["Entrypoint"]),
    cmd: stringList(c["Cmd"]),
    workingDir: typeof c["WorkingDir"] === "string" ? c["WorkingDir"] : "",
    user: typeof c["User"] === "string" ? c["User"] : "",
    stopSignal: typeof c["StopSignal"] === "string" ? c["StopSignal"] : "",
    labels: stringMap(c["Labels"]),
  };
}

function setProcess(s: Spec): SpecProcess {
  s.process ??= { user: { uid: 0, gid: 0 }, cwd: "" };
  return s.process;
}

/** The primary GID is also an additional GID (containerd's `ensureAdditionalGids`). */
function ensureAdditionalGids(s: Spec): void {
  const u = setProcess(s).user;
  if ((u.additionalGids ?? []).includes(u.gid)) return;
  u.additionalGids = [u.gid, ...(u.additionalGids ?? [])];
}

/**
 * Merges environment variables like containerd's `replaceOrAppendEnvValues`: an override `K=V` replaces
 * `K` in place or is appended; an override `K` without `=` removes `K`.
 */
export function replaceOrAppendEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const results: (string | undefined)[] = [...defaults];
  const index = new Map<string, number>();
  defaults.forEach((e, i) => index.set(e.split("=", 1)[0]!, i));
  for (const value of overrides) {
    const eq = value.indexOf("=");
    if (eq < 0) {
      const i = index.get(value);
      if (i !== undefined) results[i] = undefined;
      continue;
    }
    const i = index.get(value.slice(0, eq));
    if (i !== undefined) results[i] = value;
    else results.push(value);
  }
  return results.filter((e): e is string => e !== undefined && e !== "");
}

/**
 * Runs `fn` on the container's root filesystem: the spec's absolute `root.path` when the container has no
 * snapshot, else its snapshot mounted read-only in a temporary directory (unmounted afterwards).
 */
async function withRootfs<T>(sc: SpecContext, s: Spec, fn: (root: string) => Promise<T>): Promise<T> {
  const { snapshotter, snapshotKey } = sc.container;
  if (snapshotter === "" && snapshotKey === "") {
    const p = s.root?.path ?? "";
    if (!isAbsolute(p)) throw new InvalidArgumentError("rootfs absolute path is required", { bare: true });
    return fn(p);
  }
  if (snapshotter === "") throw new InvalidArgumentError("no snapshotter set for container", { bare: true });
  if (snapshotKey === "") throw new InvalidArgumentError("rootfs snapshot not created for container", { bare: true });
  const mounts = await sc.snapshotMounts(snapshotter, snapshotKey);
  return withTempMount(readonlyMounts(mounts), fn);
}

/** Go's `strconv.Atoi` for user/group ids in the range runc accepts (0 to 2^31-1); undefined otherwise. */
function parseId(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const v = Number.parseInt(s, 10);
  return v >= 0 && v <= 0x7fffffff ? v : undefined;
}

/** Sets environment variables (replacing same-named ones; `K` alone removes `K`). */
export function withEnv(env: readonly string[]): SpecOpt {
  return (_sc, s) => {
    if (env.length === 0) return;
    const p = setProcess(s);
    p.env = replaceOrAppendEnv(p.env ?? [], env);
  };
}

/** Sets `PATH` to containerd's default. */
export const withDefaultPathEnv: SpecOpt = (_sc, s) => {
  const p = setProcess(s);
  p.env = replaceOrAppendEnv(p.env ?? [], DEFAULT_UNIX_ENV);
};

/** Replaces the process arguments. */
export function withProcessArgs(...args: string[]): SpecOpt {
  return (_sc, s) => {
    const p = setProcess(s);
    p.args = [...args];
    delete p.commandLine;
  };
}

/** Sets the working directory of the process. */
export function withProcessCwd(cwd: string): SpecOpt {
  return (_sc, s) => {
    setProcess(s).cwd = cwd;
  };
}

/** Allocates a terminal for the process and sets `TERM=xterm` (Linux). */
export const withTTY: SpecOpt = (_sc, s) => {
  const p = setProcess(s);
  p.terminal = true;
  if (s.linux !== undefined) p.env = [...(p.env ?? []), "TERM=xterm"];
};

/** Sets the initial terminal size. */
export function withTTYSize(width: number, height: number): SpecOpt {
  return (_sc, s) => {
    setProcess(s).consoleSize = { height, width };
  };
}

/** Sets the container's hostname. */
export function withHostname(name: string): SpecOpt {
  return (_sc, s) => {
    s.hostname = name;
  };
}

/** Appends mounts. */
export function withMounts(mounts: readonly SpecMount[]): SpecOpt {
  return (_sc, s) => {
    s.mounts = [...(s.mounts ?? []), ...mounts.map((m) => ({ ...m }))];
  };
}

/** Removes the mounts at the given destinations. */
export function withoutMounts(...destinations: string[]): SpecOpt {
  return (_sc, s) => {
    s.mounts = (s.mounts ?? []).filter((m) => !destinations.includes(normalizePath(m.destination)));
  };
}

/** Runs in the host's namespace of type `ns` (`network`, `pid`, …): removes it from the spec. */
export function withHostNamespace(ns: string): SpecOpt {
  return (_sc, s) => {
    s.linux ??= {};
    const list = s.linux.namespaces ?? [];
    const i = list.findIndex((n) => n.type === ns);
    if (i >= 0) list.splice(i, 1);
  };
}

/** Uses `ns` (replacing a namespace of the same type, or appending it). */
export function withLinuxNamespace(ns: SpecNamespace): SpecOpt {
  return (_sc, s) => {
    s.linux ??= {};
    const list = (s.linux.namespaces ??= []);
    const i = list.findIndex((n) => n.type === ns.type);
    if (i >= 0) list[i] = { ...ns };
    else list.push({ ...ns });
  };
}

function bindMountHost(path: string): SpecOpt {
  return (_sc, s) => {
    s.mounts = [...(s.mounts ?? []), { destination: path, type: "bind", source: path, options: ["rbind", "ro"] }];
  };
}

/** Bind-mounts the host's `/etc/hosts` read-only. */
export const withHostHostsFile: SpecOpt = bindMountHost("/etc/hosts");
/** Bind-mounts the host's `/etc/resolv.conf` read-only. */
export const withHostResolvconf: SpecOpt = bindMountHost("/etc/resolv.conf");
/** Bind-mounts the host's `/etc/localtime` read-only. */
export const withHostLocaltime: SpecOpt = bindMountHost("/etc/localtime");

/** Turns `noNewPrivileges` off. */
export const withNewPrivileges: SpecOpt = (_sc, s) => {
  setProcess(s).noNewPrivileges = false;
};

/** Uses an unmanaged root filesystem at `path`. */
export function withRootFSPath(path: string): SpecOpt {
  return (_sc, s) => {
    s.root = { ...(s.root ?? { path: "" }), path };
  };
}

/** Makes the root filesystem read-only. */
export const withRootFSReadonly: SpecOpt = (_sc, s) => {
  s.root = { ...(s.root ?? { path: "" }), readonly: true };
};

/** Sets the cgroups path. */
export function withCgroup(path: string): SpecOpt {
  return (_sc, s) => {
    s.linux ??= {};
    s.linux.cgroupsPath = path;
  };
}

/** Sets annotations (merged into the existing ones). */
export function withAnnotations(annotations: Readonly<Record<string, string>>): SpecOpt {
  return (_sc, s) => {
    if (Object.keys(annotations).length === 0) return;
    s.annotations = { ...(s.annotations ?? {}), ...annotations };
  };
}

/** Sets the capability sets (bounding, effective, permitted) to `caps`. */
export function withCapabilities(caps: readonly string[]): SpecOpt {
  return (_sc, s) => {
    const p = setProcess(s);
    p.capabilities = { ...(p.capabilities ?? {}), bounding: [...caps], effective: [...caps], permitted: [...caps] };
  };
}

/** Adds capabilities to the bounding, effective and permitted sets. */
export function withAddedCapabilities(caps: readonly string[]): SpecOpt {
  return (_sc, s) => {
    const c = (setProcess(s).capabilities ??= {});
    for (const set of ["bounding", "effective", "permitted"] as const) {
      const list = (c[set] ??= []);
      for (const cap of caps) if (!list.includes(cap)) list.push(cap);
    }
  };
}

/** Removes capabilities from the bounding, effective and permitted sets. */
export function withDroppedCapabilities(caps: readonly string[]): SpecOpt {
  return (_sc, s) => {
    const c = (setProcess(s).capabilities ??= {});
    for (const set of ["bounding", "effective", "permitted"] as const) c[set] = (c[set] ?? []).filter((x) => !caps.includes(x));
  };
}

/** Sets the memory limit in bytes. */
export function withMemoryLimit(limit: number): SpecOpt {
  return (_sc, s) => {
    if (s.linux === undefined) return;
    const r = (s.linux.resources ??= {});
    r.memory = { ...(r.memory ?? {}), limit };
  };
}

/** Sets the CPU shares. */
export function withCPUShares(shares: number): SpecOpt {
  return (_sc, s) => {
    s.linux ??= {};
    const r = (s.linux.resources ??= {});
    r.cpu = { ...(r.cpu ?? {}), shares };
  };
}

/** Sets the CFS quota and period. */
export function withCPUCFS(quota: number, period: number): SpecOpt {
  return (_sc, s) => {
    s.linux ??= {};
    const r = (s.linux.resources ??= {});
    r.cpu = { ...(r.cpu ?? {}), quota, period };
  };
}

/** Capability names by bit number, as containerd 1.6 knows them (Linux 5.9). */
const CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
  "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
] as const;

/**
 * The names of the effective capabilities in a `/proc/<pid>/status` text (its `CapEff` bitmap), in bit
 * order; bits with no known name are left out (containerd's `cap.Current`).
 */
export function effectiveCapabilities(status: string): string[] {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  if (m === null) throw new InvalidArgumentError("no CapEff line in the process status");
  const bits = BigInt(`0x${m[1]}`);
  return CAPABILITIES.filter((_, i) => ((bits >> BigInt(i)) & 1n) === 1n);
}

/** Gives the process every capability the caller has (containerd's `WithAllCurrentCapabilities`). */
export const withAllCurrentCapabilities: SpecOpt = (sc, s) => withCapabilities(effectiveCapabilities(readFileSync("/proc/self/status", "utf8")))(sc, s);

/** Sets the masked paths (undefined: none, and the member is left out). */
export function withMaskedPaths(paths: readonly string[] | undefined): SpecOpt {
  return (_sc, s) => {
    s.linux ??= {};
    if (paths === undefined) delete s.linux.maskedPaths;
    else s.linux.maskedPaths = [...paths];
  };
}

/** Sets the read-only paths (undefined: none, and the member is left out). */
export function withReadonlyPaths(paths: readonly string[] | undefined): SpecOpt {
  return (_sc, s) => {
    s.linux ??= {};
    if (paths === undefined) delete s.linux.readonlyPaths;
    else s.linux.readonlyPaths = [...paths];
  };
}

function writeable(type: string): SpecOpt {
  return (_sc, s) => {
    for (const m of s.mounts ?? []) if (m.type === type && m.options !== undefined) m.options = m.options.map((o) => (o === "ro" ? "rw" : o));
  };
}

/** Makes sysfs mounts writeable. */
export const withWriteableSysfs: SpecOpt = writeable("sysfs");

/** Makes cgroup mounts writeable. */
export const withWriteableCgroupfs: SpecOpt = writeable("cgroup");

/** Sets the process's SELinux label ("" leaves the member out). */
export function withSelinuxLabel(label: string): SpecOpt {
  return (_sc, s) => {
    const p = setProcess(s);
    if (label === "") delete p.selinuxLabel;
    else p.selinuxLabel = label;
  };
}

/** Sets the process's AppArmor profile ("" leaves the member out). */
export function withApparmorProfile(profile: string): SpecOpt {
  return (_sc, s) => {
    const p = setProcess(s);
    if (profile === "") delete p.apparmorProfile;
    else p.apparmorProfile = profile;
  };
}

/** Removes the seccomp profile. */
export const withSeccompUnconfined: SpecOpt = (_sc, s) => {
  s.linux ??= {};
  delete s.linux.seccomp;
};

/**
 * A privileged container (containerd's `WithPrivileged`): every current capability, no masked or
 * read-only paths, writeable sysfs and cgroupfs, no SELinux label, AppArmor profile or seccomp profile.
 */
export const withPrivileged: SpecOpt = async (sc, s) => {
  for (const o of [
    withAllCurrentCapabilities,
    withMaskedPaths(undefined),
    withReadonlyPaths(undefined),
    withWriteableSysfs,
    withWriteableCgroupfs,
    withSelinuxLabel(""),
    withApparmorProfile(""),
    withSeccompUnconfined,
  ]) {
    await o(sc, s);
  }
};

/** Allows read, write and mknod on every device (the device cgroup rules become one allow-all rule). */
export const withAllDevicesAllowed: SpecOpt = (_sc, s) => {
  s.linux ??= {};
  (s.linux.resources ??= {}).devices = [{ allow: true, access: "rwm" }];
};

/** The device node at `path`, or undefined when it is not one (or a FIFO, or gone). */
function deviceAt(path: string): SpecDevice | undefined {
  let st;
  try {
    st = lstatSync(path, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const type = st.isCharacterDevice() ? "c" : st.isBlockDevice() ? "b" : undefined;
  if (type === undefined) return undefined;
  const rdev = st.rdev;
  // glibc's gnu_dev_major / gnu_dev_minor.
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { path, type, major, minor, fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
}

/** Directories of /dev that never hold devices to pass on (containerd's list). */
const SKIPPED_DEVICE_DIRS = new Set(["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"]);

/**
 * The device nodes at `path`: the node itself, or every node under a directory (sorted by name, skipping
 * {@link SKIPPED_DEVICE_DIRS} and `console`), with paths moved under `containerPath` when it is given
 * (containerd's `getDevices`).
 */
export function devicesAt(path: string, containerPath = ""): SpecDevice[] {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new InvalidArgumentError(`error stating device path: stat ${path}: ${e.code === "ENOENT" ? "no such file or directory" : e.message}`, { bare: true });
  }
  if (!st.isDirectory()) {
    const d = deviceAt(path);
    if (d === undefined) throw new InvalidArgumentError("not a device node", { bare: true });
    if (containerPath !== "") d.path = containerPath;
    return [d];
  }
  const out: SpecDevice[] = [];
  const entries = readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.isDirectory()) {
      if (SKIPPED_DEVICE_DIRS.has(e.name)) continue;
      out.push(...devicesAt(join(path, e.name), containerPath === "" ? "" : join(containerPath, basename(e.name))));
      continue;
    }
    if (e.name === "console") continue;
    const d = deviceAt(join(path, e.name));
    if (d === undefined) continue;
    if (containerPath !== "") d.path = join(containerPath, basename(e.name));
    out.push(d);
  }
  return out;
}

/** Adds every device node of the host's /dev (containerd's `WithHostDevices`). */
export const withHostDevices: SpecOpt = (_sc, s) => {
  s.linux ??= {};
  s.linux.devices = [...(s.linux.devices ?? []), ...devicesAt("/dev")];
};

/**
 * Adds the device node at `devicePath`, or every node under it, with a device cgroup rule allowing
 * `permissions` for each (containerd's `WithDevices`).
 */
export function withDevices(devicePath: string, containerPath: string, permissions: string): SpecOpt {
  return (_sc, s) => {
    const devs = devicesAt(devicePath, containerPath);
    s.linux ??= {};
    const r = (s.linux.resources ??= {});
    for (const d of devs) {
      s.linux.devices = [...(s.linux.devices ?? []), d];
      r.devices = [...(r.devices ?? []), { allow: true, type: d.type, major: d.major, minor: d.minor, access: permissions }];
    }
  };
}

/** Allows the standard character devices (null, random, full, tty, zero, urandom, console, pts, ptmx). */
export const withDefaultUnixDevices: SpecOpt = (_sc, s) => {
  s.linux ??= {};
  const r = (s.linux.resources ??= {});
  const dev = (major: number, minor?: number) => ({ allow: true, type: "c", major, ...(minor === undefined ? {} : { minor }), access: "rwm" });
  r.devices = [
    ...(r.devices ?? []),
    dev(1, 3), // /dev/null
    dev(1, 8), // /dev/random
    dev(1, 7), // /dev/full
    dev(5, 0), // /dev/tty
    dev(1, 5), // /dev/zero
    dev(1, 9), // /dev/urandom
    dev(5, 1), // /dev/console
    dev(136), // /dev/pts/*
    dev(5, 2), // /dev/ptmx
  ];
};

/** Sets uid and gid directly (no lookup). */
export function withUIDGID(uid: number, gid: number): SpecOpt {
  return (_sc, s) => {
    const u = setProcess(s).user;
    delete u.additionalGids;
    u.uid = uid;
    u.gid = gid;
    ensureAdditionalGids(s);
  };
}

/**
 * Runs as `uid`, with the gid of its `/etc/passwd` entry in the root filesystem; a uid without an entry (or
 * an image without `/etc/passwd`) gets gid 0.
 */
export function withUserID(uid: number): SpecOpt {
  return async (sc, s) => {
    const u = setProcess(s).user;
    delete u.additionalGids;
    await withRootfs(sc, s, async (root) => {
      const entry = (await readPasswd(root))?.find((e) => e.uid === uid);
      u.uid = uid;
      u.gid = entry?.gid ?? 0;
    });
    ensureAdditionalGids(s);
  };
}

/**
 * Runs as the user `name` of the root filesystem's `/etc/passwd`.
 * @throws NotFoundError `no users found` when there is no such user (or no `/etc/passwd`).
 */
export function withUsername(name: string): SpecOpt {
  return async (sc, s) => {
    const u = setProcess(s).user;
    delete u.additionalGids;
    await withRootfs(sc, s, async (root) => {
      const passwd = await readPasswd(root);
      if (passwd === undefined) throw new NotFoundError(`open ${root}/etc/passwd: no such file or directory`, { bare: true });
      const entry = passwd.find((e) => e.name === name);
      if (entry === undefined) throw new NotFoundError("no users found", { bare: true });
      u.uid = entry.uid;
      u.gid = entry.gid;
    });
    ensureAdditionalGids(s);
  };
}

/**
 * Runs as `user` in OCI image-spec form: `user`, `uid`, `user:group`, `uid:gid`, `uid:group` or `user:gid`
 * (containerd's `oci.WithUser`). Names are resolved in the root filesystem's `/etc/passwd` and `/etc/group`.
 * @throws InvalidArgumentError `invalid USER value <u>` for more than one `:`; NotFoundError `no users
 *   found` / `no groups found` for unknown names.
 */
export function withUser(user: string): SpecOpt {
  return async (sc, s) => {
    const parts = user.split(":");
    if (parts.length === 1) {
      const uid = parseId(parts[0]!);
      await (uid === undefined ? withUsername(user) : withUserID(uid))(sc, s);
      return;
    }
    if (parts.length !== 2) throw new InvalidArgumentError(`invalid USER value ${user}`, { bare: true });
    const p = setProcess(s);
    delete p.user.additionalGids;
    let uid = parseId(parts[0]!);
    let gid = parseId(parts[1]!);
    const username = uid === undefined ? parts[0]! : "";
    const groupname = gid === undefined ? parts[1]! : "";
    if (username !== "" || groupname !== "") {
      await withRootfs(sc, s, async (root) => {
        if (username !== "") {
          const entry = (await readPasswd(root))?.find((e) => e.name === username);
          if (entry === undefined) throw new NotFoundError("no users found", { bare: true });
          uid = entry.uid;
        }
        if (groupname !== "") {
          const entry = (await readGroup(root))?.find((g) => g.name === groupname);
          if (entry === undefined) throw new NotFoundError("no groups found", { bare: true });
          gid = entry.gid;
        }
      });
    }
    p.user.uid = uid ?? 0;
    p.user.gid = gid ?? 0;
    ensureAdditionalGids(s);
  };
}

/**
 * Sets the additional GIDs to the groups of `/etc/group` listing `user` (a name, or a uid looked up in
 * `/etc/passwd`) as a member, plus the primary GID (containerd's `oci.WithAdditionalGIDs`).
 */
export function withAdditionalGIDs(user: string): SpecOpt {
  return async (sc, s) => {
    const u = setProcess(s).user;
    delete u.additionalGids;
    await withRootfs(sc, s, async (root) => {
      try {
        let username = user;
        const uid = /^[+-]?\d+$/.test(user) ? Number.parseInt(user, 10) : undefined;
        if (uid !== undefined) {
          const entry = (await readPasswd(root))?.find((e) => e.uid === uid);
          if (entry === undefined) return;
          username = entry.name;
        }
        const groups = await readGroup(root);
        if (groups === undefined) return;
        u.additionalGids = groups.filter((g) => g.name !== username && g.members.includes(username)).map((g) => g.gid);
      } finally {
        ensureAdditionalGids(s);
      }
    });
  };
}

/** Options of {@link withImageConfig}. */
export interface ImageConfigOptions {
  /** Replaces the image's `Cmd` (appended to its `Entrypoint`). */
  readonly args?: readonly string[];
  /** The platform whose config is read (default: the host's). */
  readonly platform?: PlatformMatchComparer;
}

/**
 * Configures the process from the image config (containerd's `oci.WithImageConfigArgs`): the image's
 * `Env` (or the default `PATH`) under the spec's env, `Entrypoint` + `Cmd` as args, `WorkingDir` (or `/`)
 * as cwd, and `User` (resolved in the root filesystem) with its additional groups; with no `User`, root's
 * additional groups.
 */
export function withImageConfig(image: ContainerImage, options: ImageConfigOptions = {}): SpecOpt {
  return async (sc, s) => {
    const c = await readImageRunConfig(sc.content, sc.ctx, image, options.platform);
    const p = setProcess(s);
    if (s.linux === undefined) throw new InvalidArgumentError("spec does not contain Linux or Windows section", { bare: true });
    p.env = replaceOrAppendEnv(c.env.length === 0 ? DEFAULT_UNIX_ENV : c.env, p.env ?? []);
    const cmd = options.args !== undefined && options.args.length > 0 ? options.args : c.cmd;
    p.args = [...c.entrypoint, ...cmd];
    p.cwd = c.workingDir === "" ? "/" : c.workingDir;
    if (c.user !== "") {
      await withUser(c.user)(sc, s);
      await withAdditionalGIDs(String(p.user.uid))(sc, s);
      return;
    }
    await withAdditionalGIDs("root")(sc, s);
  };
}

/**
 * Parses a `--mount` value like ctr: comma-separated (CSV) `key=value` fields, keys `type`, `source`/`src`,
 * `destination`/`dst`, `options` (colon-separated).
 * @throws InvalidArgumentError `invalid mount specification: expected key=val` or `mount option "k" not
 *   supported`.
 */
export function parseMountFlag(value: string): SpecMount {
  const m: SpecMount = { destination: "" };
  for (const field of splitCsv(value)) {
    const eq = field.indexOf("=");
    if (eq < 0) throw new InvalidArgumentError("invalid mount specification: expected key=val", { bare: true });
    const key = field.slice(0, eq);
    const val = field.slice(eq + 1);
    switch (key) {
      case "type":
        m.type = val;
        break;
      case "source":
      case "src":
        m.source = val;
        break;
      case "destination":
      case "dst":
        m.destination = val;
        break;
      case "options":
        m.options = val.split(":");
        break;
      default:
        throw new InvalidArgumentError(`mount option ${JSON.stringify(key)} not supported`, { bare: true });
    }
  }
  const ordered: SpecMount = { destination: m.destination };
  if (m.type !== undefined) ordered.type = m.type;
  if (m.source !== undefined) ordered.source = m.source;
  if (m.options !== undefined) ordered.options = m.options;
  return ordered;
}

/** Splits one CSV record (Go's `encoding/csv`: fields may be double-quoted, `""` is a quote inside). */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"' && cur === "") quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}
