/**
 * Container cgroup statistics, read from the cgroup file systems the way containerd's cgroups library
 * does, for `Stats`:
 *
 * - cgroup v1 (a controller per hierarchy, as on this project's hosts): pids, cpu and cpuacct, memory
 *   (memory.stat, the usage/limit/max/failcnt of memory, memsw, kmem and kmem.tcp, memory.oom_control),
 *   blkio (the CFQ `*_recursive` files, else the `throttle.*` ones) and hugetlb;
 * - cgroup v2 (the container's process is only in the unified hierarchy): pids, cpu.stat, memory.stat
 *   with memory.current/max and swap, io.stat, memory.events and hugetlb.
 *
 * Values are uint64 counters, so they are bigint. The result objects use the field names of
 * `io.containerd.cgroups.v1.Metrics` / `io.containerd.cgroups.v2.Metrics` (camelCase), which keeps the
 * wire conversion in `grpc/convert.ts` a plain copy. Missing files are skipped, as containerd's
 * `IgnoreNotExist` does.
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { readMountInfo } from "@containerts/sys";

/** Where a container's cgroups are: one directory per v1 controller, or one v2 directory. */
export type CgroupLocation =
  | { readonly version: 1; readonly paths: Readonly<Record<string, string>> }
  | { readonly version: 2; readonly path: string };

/** cgroup v1 statistics (the shape of `io.containerd.cgroups.v1.Metrics`). */
export interface CgroupV1Stats {
  hugetlb: { usage: bigint; max: bigint; failcnt: bigint; pagesize: string }[];
  pids?: { current: bigint; limit: bigint };
  cpu?: {
    usage: { total: bigint; kernel: bigint; user: bigint; perCpu: bigint[] };
    throttling: { periods: bigint; throttledPeriods: bigint; throttledTime: bigint };
  };
  memory?: Record<string, bigint | MemoryEntry>;
  memoryOomControl?: { oomKillDisable: bigint; underOom: bigint; oomKill: bigint };
  blkio?: Record<BlkioField, BlkioEntry[]>;
}

/** A memory counter group (`memory.`, `memory.memsw.`, `memory.kmem.`, `memory.kmem.tcp.`). */
export interface MemoryEntry {
  limit: bigint;
  usage: bigint;
  max: bigint;
  failcnt: bigint;
}

/** One blkio line. */
export interface BlkioEntry {
  op: string;
  device: string;
  major: bigint;
  minor: bigint;
  value: bigint;
}

type BlkioField =
  | "ioServiceBytesRecursive"
  | "ioServicedRecursive"
  | "ioQueuedRecursive"
  | "ioServiceTimeRecursive"
  | "ioWaitTimeRecursive"
  | "ioMergedRecursive"
  | "ioTimeRecursive"
  | "sectorsRecursive";

/** cgroup v2 statistics (the shape of `io.containerd.cgroups.v2.Metrics`). */
export interface CgroupV2Stats {
  pids?: { current: bigint; limit: bigint };
  cpu?: Record<string, bigint>;
  memory?: Record<string, bigint>;
  io?: { usage: { major: bigint; minor: bigint; rbytes: bigint; wbytes: bigint; rios: bigint; wios: bigint }[] };
  hugetlb: { current: bigint; max: bigint; pagesize: string }[];
  memoryEvents?: Record<string, bigint>;
}

/** memory.stat keys whose Metrics field name is not their plain camelCase. */
const V1_MEMORY_KEYS: Readonly<Record<string, string>> = {
  hierarchical_memsw_limit: "hierarchicalSwapLimit",
  pgpgin: "pgPgIn",
  pgpgout: "pgPgOut",
  pgfault: "pgFault",
  pgmajfault: "pgMajFault",
  total_pgpgin: "totalPgPgIn",
  total_pgpgout: "totalPgPgOut",
  total_pgfault: "totalPgFault",
  total_pgmajfault: "totalPgMajFault",
};

const MAX_UINT64 = 0xffff_ffff_ffff_ffffn;
const NANOS_PER_SECOND = 1_000_000_000n;
const CLOCK_TICKS = 100n; // USER_HZ on Linux, as containerd hard-codes

async function read(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function uint(text: string): bigint {
  const t = text.trim();
  if (t === "max") return MAX_UINT64;
  // Negative values (memory.memsw.* can report -1 on some kernels) clamp to zero, as ParseUint fails.
  if (!/^\d+$/.test(t)) return 0n;
  return BigInt(t);
}

async function readUint(path: string): Promise<bigint | undefined> {
  const t = await read(path);
  return t === undefined ? undefined : uint(t);
}

/** Parses `key value` lines. */
export function parseKeyValues(text: string): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const line of text.split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts.length === 2 && parts[0] !== "") m.set(parts[0]!, uint(parts[1]!));
  }
  return m;
}

/** snake_case → camelCase. */
function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Finds where a process's cgroups are, from `/proc/<pid>/cgroup` and the mount table. On a host whose
 * `/sys/fs/cgroup` is a v1 tree (even with a v2 mount beside it, "hybrid"), the v1 controllers are used;
 * when the process is in the unified hierarchy only, its v2 directory. Undefined when neither is found.
 */
export async function loadCgroup(pid: number, procRoot = "/proc"): Promise<CgroupLocation | undefined> {
  const text = await read(join(procRoot, String(pid), "cgroup"));
  if (text === undefined) return undefined;
  const mounts = readMountInfo();
  const v1: Record<string, string> = {};
  let unified: string | undefined;
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === "") {
      unified = path;
      continue;
    }
    for (const c of controllers.split(",")) {
      const mount = mounts.find((m) => m.fsType === "cgroup" && m.superOptions.split(",").includes(c));
      if (mount !== undefined) v1[c] = join(mount.mountPoint, path);
    }
  }
  if (Object.keys(v1).length > 0) return { version: 1, paths: v1 };
  if (unified !== undefined) {
    const mount = mounts.find((m) => m.fsType === "cgroup2");
    if (mount !== undefined) return { version: 2, path: join(mount.mountPoint, unified) };
  }
  return undefined;
}

/** Reads the cgroup v1 statistics of the controllers in `paths` (controller name → directory). */
export async function statsV1(paths: Readonly<Record<string, string>>, procRoot = "/proc"): Promise<CgroupV1Stats> {
  const stats: CgroupV1Stats = { hugetlb: [] };
  const p = paths;
  if (p["pids"] !== undefined) {
    const current = await readUint(join(p["pids"], "pids.current"));
    const max = await read(join(p["pids"], "pids.max"));
    if (current !== undefined && max !== undefined) stats.pids = { current, limit: max.trim() === "max" ? 0n : uint(max) };
  }
  if (p["cpuacct"] !== undefined || p["cpu"] !== undefined) {
    const cpu = {
      usage: { total: 0n, kernel: 0n, user: 0n, perCpu: [] as bigint[] },
      throttling: { periods: 0n, throttledPeriods: 0n, throttledTime: 0n },
    };
    if (p["cpuacct"] !== undefined) {
      const dir = p["cpuacct"];
      cpu.usage.total = (await readUint(join(dir, "cpuacct.usage"))) ?? 0n;
      const percpu = await read(join(dir, "cpuacct.usage_percpu"));
      if (percpu !== undefined) cpu.usage.perCpu = percpu.trim().split(/\s+/).filter((s) => s !== "").map(uint);
      const st = await read(join(dir, "cpuacct.stat"));
      if (st !== undefined) {
        const kv = parseKeyValues(st);
        cpu.usage.user = ((kv.get("user") ?? 0n) * NANOS_PER_SECOND) / CLOCK_TICKS;
        cpu.usage.kernel = ((kv.get("system") ?? 0n) * NANOS_PER_SECOND) / CLOCK_TICKS;
      }
    }
    if (p["cpu"] !== undefined) {
      const st = await read(join(p["cpu"], "cpu.stat"));
      if (st !== undefined) {
        const kv = parseKeyValues(st);
        cpu.throttling = {
          periods: kv.get("nr_periods") ?? 0n,
          throttledPeriods: kv.get("nr_throttled") ?? 0n,
          throttledTime: kv.get("throttled_time") ?? 0n,
        };
      }
    }
    stats.cpu = cpu;
  }
  if (p["memory"] !== undefined) {
    const dir = p["memory"];
    const st = await read(join(dir, "memory.stat"));
    if (st !== undefined) {
      const kv = parseKeyValues(st);
      const memory: Record<string, bigint | MemoryEntry> = {};
      for (const [k, v] of kv) {
        memory[V1_MEMORY_KEYS[k] ?? camel(k)] = v;
      }
      for (const [module, field] of [
        ["", "usage"],
        ["memsw.", "swap"],
        ["kmem.", "kernel"],
        ["kmem.tcp.", "kernelTcp"],
      ] as const) {
        const usage = await readUint(join(dir, `memory.${module}usage_in_bytes`));
        if (usage === undefined) continue;
        memory[field] = {
          usage,
          max: (await readUint(join(dir, `memory.${module}max_usage_in_bytes`))) ?? 0n,
          failcnt: (await readUint(join(dir, `memory.${module}failcnt`))) ?? 0n,
          limit: (await readUint(join(dir, `memory.${module}limit_in_bytes`))) ?? 0n,
        };
      }
      stats.memory = memory;
    }
    const oom = await read(join(dir, "memory.oom_control"));
    if (oom !== undefined) {
      const kv = parseKeyValues(oom);
      stats.memoryOomControl = { oomKillDisable: kv.get("oom_kill_disable") ?? 0n, underOom: kv.get("under_oom") ?? 0n, oomKill: kv.get("oom_kill") ?? 0n };
    }
  }
  if (p["blkio"] !== undefined) stats.blkio = await blkioStats(p["blkio"], procRoot);
  if (p["hugetlb"] !== undefined) {
    const dir = p["hugetlb"];
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      names = [];
    }
    const sizes = names.map((n) => /^hugetlb\.([^.]+)\.usage_in_bytes$/.exec(n)?.[1]).filter((s): s is string => s !== undefined).sort();
    for (const size of sizes) {
      stats.hugetlb.push({
        pagesize: size,
        usage: (await readUint(join(dir, `hugetlb.${size}.usage_in_bytes`))) ?? 0n,
        max: (await readUint(join(dir, `hugetlb.${size}.max_usage_in_bytes`))) ?? 0n,
        failcnt: (await readUint(join(dir, `hugetlb.${size}.failcnt`))) ?? 0n,
      });
    }
  }
  return stats;
}

const CFQ_FILES: readonly (readonly [string, BlkioField])[] = [
  ["sectors_recursive", "sectorsRecursive"],
  ["io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ["io_serviced_recursive", "ioServicedRecursive"],
  ["io_queued_recursive", "ioQueuedRecursive"],
  ["io_service_time_recursive", "ioServiceTimeRecursive"],
  ["io_wait_time_recursive", "ioWaitTimeRecursive"],
  ["io_merged_recursive", "ioMergedRecursive"],
  ["time_recursive", "ioTimeRecursive"],
];

/** `major minor` → `/dev/<name>` from /proc/partitions. */
async function devices(procRoot: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  const text = (await read(join(procRoot, "partitions"))) ?? "";
  for (const line of text.split("\n").slice(2)) {
    const f = line.trim().split(/\s+/);
    if (f.length === 4) m.set(`${f[0]} ${f[1]}`, `/dev/${f[3]}`);
  }
  return m;
}

/** Parses a blkio file (`major:minor [op] value` lines, `Total n` skipped). */
export function parseBlkio(text: string, devs: ReadonlyMap<string, string>): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/[\s:]+/).filter((s) => s !== "");
    if (f.length < 3) continue;
    const [maj, min] = f;
    if (!/^\d+$/.test(maj!) || !/^\d+$/.test(min!)) continue;
    const op = f.length >= 4 ? f[2]! : "";
    const value = uint(f.length >= 4 ? f[3]! : f[2]!);
    out.push({ op, device: devs.get(`${maj} ${min}`) ?? "", major: BigInt(maj!), minor: BigInt(min!), value });
  }
  return out;
}

async function blkioStats(dir: string, procRoot: string): Promise<Record<BlkioField, BlkioEntry[]>> {
  const blkio: Record<BlkioField, BlkioEntry[]> = {
    ioServiceBytesRecursive: [],
    ioServicedRecursive: [],
    ioQueuedRecursive: [],
    ioServiceTimeRecursive: [],
    ioWaitTimeRecursive: [],
    ioMergedRecursive: [],
    ioTimeRecursive: [],
    sectorsRecursive: [],
  };
  const devs = await devices(procRoot);
  let size = 0;
  if ((await read(join(dir, "blkio.io_serviced_recursive"))) !== undefined) {
    for (const [file, field] of CFQ_FILES) {
      const t = await read(join(dir, `blkio.${file}`));
      if (t === undefined) continue;
      blkio[field] = parseBlkio(t, devs);
      size += blkio[field].length;
    }
  }
  if (size > 0) return blkio;
  for (const [file, field] of [
    ["throttle.io_serviced", "ioServicedRecursive"],
    ["throttle.io_service_bytes", "ioServiceBytesRecursive"],
  ] as const) {
    const t = await read(join(dir, `blkio.${file}`));
    if (t !== undefined) blkio[field] = parseBlkio(t, devs);
  }
  return blkio;
}

/** Reads the cgroup v2 statistics of the directory `dir`. */
export async function statsV2(dir: string): Promise<CgroupV2Stats> {
  const stats: CgroupV2Stats = { hugetlb: [] };
  const current = await readUint(join(dir, "pids.current"));
  const max = await read(join(dir, "pids.max"));
  if (current !== undefined) stats.pids = { current, limit: max === undefined || max.trim() === "max" ? 0n : uint(max) };
  const cpu = await read(join(dir, "cpu.stat"));
  if (cpu !== undefined) {
    const kv = parseKeyValues(cpu);
    stats.cpu = {
      usageUsec: kv.get("usage_usec") ?? 0n,
      userUsec: kv.get("user_usec") ?? 0n,
      systemUsec: kv.get("system_usec") ?? 0n,
      nrPeriods: kv.get("nr_periods") ?? 0n,
      nrThrottled: kv.get("nr_throttled") ?? 0n,
      throttledUsec: kv.get("throttled_usec") ?? 0n,
    };
  }
  const mem = await read(join(dir, "memory.stat"));
  if (mem !== undefined) {
    const memory: Record<string, bigint> = {};
    for (const [k, v] of parseKeyValues(mem)) memory[camel(k)] = v;
    memory["usage"] = (await readUint(join(dir, "memory.current"))) ?? 0n;
    memory["usageLimit"] = (await readUint(join(dir, "memory.max"))) ?? 0n;
    memory["swapUsage"] = (await readUint(join(dir, "memory.swap.current"))) ?? 0n;
    memory["swapLimit"] = (await readUint(join(dir, "memory.swap.max"))) ?? 0n;
    stats.memory = memory;
  }
  const io = await read(join(dir, "io.stat"));
  if (io !== undefined) {
    stats.io = { usage: [] };
    for (const line of io.split("\n")) {
      const f = line.trim().split(/\s+/);
      const dev = /^(\d+):(\d+)$/.exec(f[0] ?? "");
      if (dev === null) continue;
      const kv = new Map(f.slice(1).map((x) => x.split("=") as [string, string]));
      stats.io.usage.push({
        major: BigInt(dev[1]!),
        minor: BigInt(dev[2]!),
        rbytes: uint(kv.get("rbytes") ?? "0"),
        wbytes: uint(kv.get("wbytes") ?? "0"),
        rios: uint(kv.get("rios") ?? "0"),
        wios: uint(kv.get("wios") ?? "0"),
      });
    }
  }
  const events = await read(join(dir, "memory.events"));
  if (events !== undefined) {
    const kv = parseKeyValues(events);
    stats.memoryEvents = { low: kv.get("low") ?? 0n, high: kv.get("high") ?? 0n, max: kv.get("max") ?? 0n, oom: kv.get("oom") ?? 0n, oomKill: kv.get("oom_kill") ?? 0n };
  }
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    names = [];
  }
  for (const size of names.map((n) => /^hugetlb\.([^.]+)\.current$/.exec(n)?.[1]).filter((s): s is string => s !== undefined).sort()) {
    const m = await read(join(dir, `hugetlb.${size}.max`));
    stats.hugetlb.push({ pagesize: size, current: (await readUint(join(dir, `hugetlb.${size}.current`))) ?? 0n, max: m === undefined ? 0n : uint(m) });
  }
  return stats;
}
