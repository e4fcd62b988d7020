/**
 * The OCI runtime spec as the client writes it: the types of the fields containerd's Linux spec uses, the
 * default spec (containerd 1.6's `oci.populateDefaultUnixSpec`), and its JSON encoding in Go's field
 * order, so a spec written here is byte for byte what `ctr` writes for the same options. No I/O.
 */
import type { AnyValue } from "@containerts/containers";
import { SPEC_TYPE_URL } from "@containerts/containers";
import { type GoJsonValue, goJson } from "./go-json.js";

/** The OCI runtime spec version containerd 1.6 writes. */
export const OCI_VERSION = "1.0.2-dev";

/** The type URL of an exec process spec Any (its value is the process's JSON). */
export const PROCESS_SPEC_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process";

/** containerd's default `PATH` for Linux containers. */
export const DEFAULT_UNIX_ENV: readonly string[] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];

/** The user a process runs as. */
export interface SpecUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

/** Linux capability sets. */
export interface SpecCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

/** A POSIX resource limit. */
export interface SpecRlimit {
  type: string;
  hard: number;
  soft: number;
}

/** The process of a container or an exec (the OCI `process` object). */
export interface SpecProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: SpecUser;
  args?: string[];
  commandLine?: string;
  env?: string[];
  cwd: string;
  capabilities?: SpecCapabilities;
  rlimits?: SpecRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
  [extra: string]: unknown;
}

/** A mount in the container (the OCI `mounts[]` entry). */
export interface SpecMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** A device node as the spec's `linux.devices` holds it (members in Go's order). */
export interface SpecDevice {
  path: string;
  type: "c" | "b";
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** A device cgroup rule. */
export interface SpecDeviceCgroup {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

/** A Linux namespace to create (no path) or join (path). */
export interface SpecNamespace {
  type: string;
  path?: string;
}

/** Linux cgroup resources (the parts containerd's options set). */
export interface SpecResources {
  devices?: SpecDeviceCgroup[];
  memory?: { limit?: number; reservation?: number; swap?: number; [extra: string]: unknown };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string; [extra: string]: unknown };
  pids?: { limit: number };
  [extra: string]: unknown;
}

/** The Linux section of a spec. */
export interface SpecLinux {
  uidMappings?: { containerID: number; hostID: number; size: number }[];
  gidMappings?: { containerID: number; hostID: number; size: number }[];
  sysctl?: Record<string, string>;
  resources?: SpecResources;
  cgroupsPath?: string;
  namespaces?: SpecNamespace[];
  devices?: SpecDevice[];
  seccomp?: Record<string, unknown>;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  [extra: string]: unknown;
}

/** An OCI runtime spec (`config.json`), as far as containerd's options touch it; other fields pass through. */
export interface Spec {
  ociVersion: string;
  process?: SpecProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: SpecMount[];
  hooks?: Record<string, unknown>;
  annotations?: Record<string, string>;
  linux?: SpecLinux;
  [extra: string]: unknown;
}

function defaultUnixCaps(): string[] {
  return [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
  ];
}

/** containerd 1.6's default mounts (`oci.defaultMounts`). */
export function defaultMounts(): SpecMount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
  ];
}

/**
 * The default Linux spec of container `id` in `namespace` (containerd 1.6's `populateDefaultUnixSpec`):
 * root `rootfs`, cwd `/`, uid/gid 0, no new privileges, the 14 default capabilities, RLIMIT_NOFILE 1024,
 * the masked and read-only /proc and /sys paths, cgroups path `/<namespace>/<id>`, every device denied,
 * new pid, ipc, uts, mount and network namespaces, and the default mounts (/proc, /dev, /dev/pts,
 * /dev/shm, /dev/mqueue, /sys, /run). Its `process` has no args and no env: the options add them.
 */
export function defaultUnixSpec(namespace: string, id: string): Spec {
  return {
    ociVersion: OCI_VERSION,
    process: {
      user: { uid: 0, gid: 0 },
      cwd: "/",
      capabilities: { bounding: defaultUnixCaps(), effective: defaultUnixCaps(), permitted: defaultUnixCaps() },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs" },
    mounts: defaultMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      cgroupsPath: `/${namespace}/${id}`,
      namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network" }],
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

// Go's struct field order of the specs-go types containerd marshals (`json:"..."` tags, in order).
const ORDER: Readonly<Record<string, readonly string[]>> = {
  spec: ["ociVersion", "process", "root", "hostname", "domainname", "mounts", "hooks", "annotations", "linux", "solaris", "windows", "vm", "zos"],
  process: [
    "terminal",
    "consoleSize",
    "user",
    "args",
    "commandLine",
    "env",
    "cwd",
    "capabilities",
    "rlimits",
    "noNewPrivileges",
    "apparmorProfile",
    "oomScoreAdj",
    "selinuxLabel",
  ],
  consoleSize: ["height", "width"],
  user: ["uid", "gid", "umask", "additionalGids", "username"],
  capabilities: ["bounding", "effective", "inheritable", "permitted", "ambient"],
  rlimit: ["type", "hard", "soft"],
  root: ["path", "readonly"],
  mount: ["destination", "type", "source", "options"],
  linux: [
    "uidMappings",
    "gidMappings",
    "sysctl",
    "resources",
    "cgroupsPath",
    "namespaces",
    "devices",
    "seccomp",
    "rootfsPropagation",
    "maskedPaths",
    "readonlyPaths",
    "mountLabel",
    "intelRdt",
    "personality",
  ],
  idMapping: ["containerID", "hostID", "size"],
  resources: ["devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "network", "rdma", "unified"],
  deviceCgroup: ["allow", "type", "major", "minor", "access"],
  memory: ["limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness", "disableOOMKiller", "useHierarchy", "checkBeforeUpdate"],
  cpu: ["shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle"],
  namespace: ["type", "path"],
};

// Which ORDER table applies to the members of an object member (by member name), and to array items.
const CHILD: Readonly<Record<string, string>> = {
  process: "process",
  consoleSize: "consoleSize",
  user: "user",
  capabilities: "capabilities",
  rlimits: "rlimit",
  root: "root",
  mounts: "mount",
  linux: "linux",
  uidMappings: "idMapping",
  gidMappings: "idMapping",
  resources: "resources",
  devices: "deviceCgroup",
  memory: "memory",
  cpu: "cpu",
  namespaces: "namespace",
};

// Members whose values are maps (keys sorted as Go sorts map keys), not structs.
const MAPS = new Set(["annotations", "sysctl", "unified", "rdma"]);

function ordered(value: unknown, table: string | undefined): GoJsonValue {
  if (value === null || typeof value !== "object") return value as GoJsonValue;
  if (Array.isArray(value)) return value.map((v) => ordered(v, table));
  const obj = value as Record<string, unknown>;
  const order = table === undefined ? undefined : ORDER[table];
  const keys = order === undefined ? Object.keys(obj) : [...order.filter((k) => k in obj), ...Object.keys(obj).filter((k) => !order.includes(k))];
  const out: Record<string, GoJsonValue> = {};
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (MAPS.has(k) && v !== null && typeof v === "object" && !Array.isArray(v)) {
      const m = v as Record<string, unknown>;
      const sorted: Record<string, GoJsonValue> = {};
      for (const mk of Object.keys(m).sort()) sorted[mk] = m[mk] as GoJsonValue;
      out[k] = sorted;
      continue;
    }
    // `linux.devices` are devices, `linux.resources.devices` device cgroup rules: only the latter are ordered.
    const child = table === "linux" && k === "devices" ? undefined : CHILD[k];
    out[k] = ordered(v, child);
  }
  return out;
}

/** The JSON of a spec as containerd's Go client writes it (Go field order, compact, HTML-safe escapes). */
export function specJson(spec: Spec): string {
  return goJson(ordered(spec, "spec"));
}

/** The JSON of a process spec, as `Tasks.Exec` carries it. */
export function processJson(process: SpecProcess): string {
  return goJson(ordered(process, "process"));
}

/** The container's spec Any (`types.containerd.io/opencontainers/runtime-spec/1/Spec`) for `spec`. */
export function specToAny(spec: Spec): AnyValue {
  return { typeUrl: SPEC_TYPE_URL, value: new TextEncoder().encode(specJson(spec)) };
}

/** The exec process Any (`types.containerd.io/opencontainers/runtime-spec/1/Process`) for `process`. */
export function processToAny(process: SpecProcess): AnyValue {
  return { typeUrl: PROCESS_SPEC_TYPE_URL, value: new TextEncoder().encode(processJson(process)) };
}
