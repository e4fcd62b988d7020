/**
 * ctr's container flags (`commands.ContainerFlags`, the snapshotter flags and, for `run`, its platform
 * flags) and `run.NewContainer`: the spec options and container options they stand for, in ctr's order,
 * so `tsctr run` and `tsctr containers create` write the spec `ctr` writes.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Command } from "commander";
import {
  type Client,
  type ContainerHandle,
  DEFAULT_RUNTIME,
  type SpecOpt,
  emptyRuncOptions,
  matcherFor,
  parseMountFlag,
  withAddedCapabilities,
  withAllDevicesAllowed,
  withAnnotations,
  withCPUCFS,
  withCPUShares,
  withCgroup,
  withDefaultUnixDevices,
  withDevices,
  withDroppedCapabilities,
  withEnv,
  withHostDevices,
  withHostHostsFile,
  withHostNamespace,
  withHostResolvconf,
  withImageConfig,
  withLinuxNamespace,
  withMemoryLimit,
  withMounts,
  withNewPrivileges,
  withPrivileged,
  withProcessArgs,
  withProcessCwd,
  withRootFSReadonly,
  withTTY,
  withUser,
} from "@containerts/client";
import type { Context } from "@containerts/namespaces";
import { CommandError, labelArgs } from "../../cli.js";

/** The values of the container flags. */
export interface ContainerFlags {
  readonly snapshotter: string;
  readonly snapshotterLabel: string[];
  readonly cwd?: string;
  readonly env: string[];
  readonly envFile?: string;
  readonly label: string[];
  readonly annotation: string[];
  readonly mount: string[];
  readonly netHost?: boolean;
  readonly readOnly?: boolean;
  readonly privileged?: boolean;
  readonly device: string[];
  readonly runtime: string;
  readonly tty?: boolean;
  readonly withNs: string[];
  readonly pidFile?: string;
  readonly allowNewPrivs?: boolean;
  readonly memoryLimit?: string;
  readonly capAdd: string[];
  readonly capDrop: string[];
  readonly cpuQuota: string;
  readonly cpuPeriod: string;
  readonly user?: string;
  readonly cgroup?: string;
  readonly platform?: string;
  readonly cpus?: string;
  readonly cpuShares?: string;
}

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** Adds the snapshotter flags and ctr's `ContainerFlags` (those tsctr supports) to `cmd`. */
export function addContainerFlags(cmd: Command): Command {
  return cmd
    .option("--snapshotter <name>", "snapshotter name. Empty value stands for the default value.", process.env["CONTAINERD_SNAPSHOTTER"] ?? "")
    .option("--snapshotter-label <label>", "labels added to the new snapshot for this container.", collect, [])
    .option("--cwd <dir>", "specify the working directory of the process")
    .option("--env <value>", "specify additional container environment variables (e.g. FOO=bar)", collect, [])
    .option("--env-file <file>", "specify additional container environment variables in a file(e.g. FOO=bar, one per line)")
    .option("--label <label>", "specify additional labels (e.g. foo=bar)", collect, [])
    .option("--annotation <value>", "specify additional OCI annotations (e.g. foo=bar)", collect, [])
    .option("--mount <value>", "specify additional container mount (e.g. type=bind,src=/tmp,dst=/host,options=rbind:ro)", collect, [])
    .option("--net-host", "enable host networking for the container")
    .option("--privileged", "run privileged container")
    .option("--read-only", "set the containers filesystem as readonly")
    .option("--runtime <name>", "runtime name", DEFAULT_RUNTIME)
    .option("-t, --tty", "allocate a TTY for the container")
    .option("--with-ns <ns>", "specify existing Linux namespaces to join at container runtime (format '<nstype>:<path>')", collect, [])
    .option("--pid-file <file>", "file path to write the task's pid")
    .option("--allow-new-privs", "turn off OCI spec's NoNewPrivileges feature flag")
    .option("--memory-limit <bytes>", "memory limit (in bytes) for the container")
    .option("--device <path>", "file path to a device to add to the container; or a path to a directory tree of devices to add to the container", collect, [])
    .option("--cap-add <cap>", "add Linux capabilities (Set capabilities with 'CAP_' prefix)", collect, [])
    .option("--cap-drop <cap>", "drop Linux capabilities (Set capabilities with 'CAP_' prefix)", collect, [])
    .option("--cpu-quota <quota>", "Limit CPU CFS quota", "-1")
    .option("--cpu-period <period>", "Limit CPU CFS period", "0")
    .option("-u, --user <user>", "username or user id, group optional (format: <name|uid>[:<group|gid>]) (containerd 1.7's flag)");
}

/** Adds `run`'s own platform flags (`--cgroup`, `--platform`, `--cpus`, `--cpu-shares`). */
export function addRunPlatformFlags(cmd: Command): Command {
  return cmd
    .option("--cgroup <path>", 'cgroup path (To disable use of cgroup, set to "" explicitly)')
    .option("--platform <platform>", "run image for specific platform")
    .option("--cpus <n>", "set the CFS cpu quota", "0")
    .option("--cpu-shares <n>", "set the cpu shares", "1024");
}

const LINUX_NAMESPACES = new Set(["pid", "network", "uts", "mount", "user", "ipc", "cgroup"]);

function int(value: string, flag: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw new CommandError(`invalid value "${value}" for flag -${flag}: parse error`);
  return Number.parseInt(value, 10);
}

/** ctr's `AnnotationArgs`. */
function annotationArgs(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of values) {
    const i = a.indexOf("=");
    if (i < 0) throw new CommandError(`invalid key=value format annotation: ${a}`);
    out[a.slice(0, i)] = a.slice(i + 1);
  }
  return out;
}

/**
 * ctr's `run.NewContainer` for an image: gets the image, unpacks it into the snapshotter when needed,
 * builds the spec options from the flags in ctr's order, and creates the container with a new snapshot
 * named after it.
 */
export async function newContainerFromFlags(
  client: Client,
  ctx: Context,
  ref: string,
  id: string,
  args: readonly string[],
  f: ContainerFlags,
): Promise<ContainerHandle> {
  const opts: SpecOpt[] = [withDefaultUnixDevices];
  if (f.envFile !== undefined && f.envFile !== "") {
    let text: string;
    try {
      text = readFileSync(f.envFile, "utf8");
    } catch (err) {
      throw new CommandError(`open ${f.envFile}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : String(err)}`);
    }
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    opts.push(withEnv(lines));
  }
  opts.push(withEnv(f.env));
  opts.push(withMounts(f.mount.map(parseMountFlag)));

  const image = await client.images.get(ctx, ref);
  const platform = f.platform !== undefined && f.platform !== "" ? f.platform : undefined;
  const unpackOptions = { snapshotter: f.snapshotter, ...(platform === undefined ? {} : { platform }) };
  if (!(await client.isUnpacked(ctx, image, unpackOptions))) await client.unpack(ctx, image, unpackOptions);
  opts.push(withImageConfig(image, platform === undefined ? {} : { platform: matcherFor(platform) }));

  if (f.readOnly) opts.push(withRootFSReadonly);
  if (args.length > 0) opts.push(withProcessArgs(...args));
  if (f.cwd !== undefined && f.cwd !== "") opts.push(withProcessCwd(f.cwd));
  if (f.user !== undefined && f.user !== "") opts.push(withUser(f.user));
  if (f.tty) opts.push(withTTY);
  if (f.privileged) opts.push(withPrivileged, withAllDevicesAllowed, withHostDevices);
  if (f.netHost) {
    opts.push(withHostNamespace("network"), withHostHostsFile, withHostResolvconf, withEnv([`HOSTNAME=${hostname()}`]));
  }
  if (f.annotation.length > 0) opts.push(withAnnotations(annotationArgs(f.annotation)));
  for (const [flag, caps] of [
    ["cap-add", f.capAdd],
    ["cap-drop", f.capDrop],
  ] as const) {
    if (caps.some((c) => !c.startsWith("CAP_"))) throw new CommandError("capabilities must be specified with 'CAP_' prefix");
    if (caps.length > 0) opts.push(flag === "cap-add" ? withAddedCapabilities(caps) : withDroppedCapabilities(caps));
  }
  const cpus = f.cpus === undefined ? 0 : Number(f.cpus);
  if (Number.isNaN(cpus)) throw new CommandError(`invalid value "${f.cpus}" for flag -cpus: parse error`);
  if (cpus > 0) opts.push(withCPUCFS(Math.trunc(cpus * 100000), 100000));
  if (f.cpuShares !== undefined) {
    const shares = int(f.cpuShares, "cpu-shares");
    if (shares > 0) opts.push(withCPUShares(shares));
  }
  const quota = int(f.cpuQuota, "cpu-quota");
  const period = int(f.cpuPeriod, "cpu-period");
  if (quota !== -1 || period !== 0) {
    if (cpus > 0) throw new CommandError("cpus and quota/period should be used separately");
    opts.push(withCPUCFS(quota, period));
  }
  for (const ns of f.withNs) {
    const parts = ns.split(":");
    if (parts.length !== 2) throw new CommandError("joining a Linux namespace using --with-ns requires the format 'nstype:path'");
    if (!LINUX_NAMESPACES.has(parts[0]!)) throw new CommandError(`the Linux namespace type specified in --with-ns is not valid: ${parts[0]}`);
    opts.push(withLinuxNamespace({ type: parts[0]!, path: parts[1]! }));
  }
  if (f.allowNewPrivs) opts.push(withNewPrivileges);
  if (f.cgroup !== undefined) opts.push(withCgroup(f.cgroup));
  if (f.memoryLimit !== undefined) {
    const limit = int(f.memoryLimit, "memory-limit");
    if (limit !== 0) opts.push(withMemoryLimit(limit));
  }
  for (const dev of f.device) opts.push(withDevices(dev, "", "rwm"));
  const labels = labelArgs(f.label);
  opts.push(withAnnotations(labels));

  return client.newContainer(ctx, id, {
    image,
    ...(platform === undefined ? {} : { platform }),
    imageConfigLabels: true,
    labels: { ...image.labels, ...labels },
    snapshotter: f.snapshotter,
    newSnapshot: { key: id, labels: labelArgs(f.snapshotterLabel) },
    imageStopSignal: "SIGTERM",
    runtime: f.runtime === DEFAULT_RUNTIME ? { name: f.runtime, options: emptyRuncOptions() } : { name: f.runtime },
    specOpts: opts,
  });
}
