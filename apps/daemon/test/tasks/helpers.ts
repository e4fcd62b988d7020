/**
 * Shared pieces of the daemon's task tests: a daemon whose shims find both shim binaries, gRPC proxies to
 * it, the busybox image archive, and a clean-up that removes everything a test made even when it failed
 * (tasks through the API, then the daemon's shims by PID, runc state, namespace cgroups, mounts, the
 * temp dir).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { ProxyContainerStore } from "@containerts/containers/proxy";
import { background, withNamespace, type Context } from "@containerts/namespaces";
import { ProxyTaskService } from "@containerts/tasks/proxy";
import { cleanupCgroups, cleanupRunc, killPids, shimPidsFor, waitFor } from "@containerts/tasks/testsuite";
import { ctr, repoRoot, startContainertsd, type StartOptions, type TestDaemon } from "@containerts/testkit";

/** The stock shim's runtime. */
export const RUNC_V2 = "io.containerd.runc.v2";
/** Our shim's runtime. */
export const TSRUNC_V1 = "io.containerts.tsrunc.v1";
/** Both runtimes. */
export const RUNTIMES = [RUNC_V2, TSRUNC_V1] as const;
/** The busybox image the test archive holds. */
export const BUSYBOX = "docker.io/library/busybox:latest";

/** Where our shim's binary is built. */
export const tsShimBinDir = join(repoRoot, "packages/shim-runc/bin");

/** The daemon's environment: `PATH` finds `containerd-shim-tsrunc-v1` even before the quick start installs it. */
export function shimEnv(): Record<string, string> {
  return { PATH: `${tsShimBinDir}:${process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"}` };
}

/** Fails loudly when our shim is not built. */
export function requireTsShim(): void {
  if (!existsSync(join(tsShimBinDir, "containerd-shim-tsrunc-v1"))) {
    throw new Error(`containerd-shim-tsrunc-v1 is not built in ${tsShimBinDir}: run pnpm build (packages/shim-runc)`);
  }
}

/** Starts containertsd with {@link shimEnv}. */
export function startDaemon(options: StartOptions = {}): Promise<TestDaemon> {
  return startContainertsd({ ...options, env: { ...shimEnv(), ...(options.env ?? {}) } });
}

/** Proxies to a daemon's containers and tasks services. */
export interface Clients {
  readonly ctx: Context;
  readonly containers: ProxyContainerStore;
  readonly tasks: ProxyTaskService;
  close(): void;
}

/** Opens proxies to `d` in `namespace`. */
export function clients(d: { address: string }, namespace: string): Clients {
  const target = { address: `unix://${d.address}`, credentials: credentials.createInsecure(), options: {} };
  const containers = new ProxyContainerStore(target);
  const tasks = new ProxyTaskService(target);
  return {
    ctx: withNamespace(background(), namespace),
    containers,
    tasks,
    close() {
      containers.close();
      tasks.close();
    },
  };
}

/** A namespace no other test uses. */
export function uniqueNamespace(prefix: string): string {
  return `${prefix}${process.pid}x${Math.floor(Math.random() * 1e6)}`;
}

/**
 * Builds the busybox OCI archive with tools/testimages into `dir` and returns its path.
 * @throws when the builder fails (its output in the message).
 */
export function buildBusyboxArchive(dir: string): string {
  const out = join(dir, "busybox.tar");
  const bin = join(repoRoot, "tools/testimages/bin/containerts-testimages");
  const r = spawnSync(bin, ["busybox", "-o", out], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`building the busybox archive failed (${bin}): ${r.stderr || r.stdout}`);
  return out;
}

/**
 * Imports the busybox archive with the stock `ctr images import` (which unpacks it through the daemon's
 * content, snapshots, diff, images and leases services).
 * @throws naming what failed when the daemon cannot import yet.
 */
export async function importBusybox(d: TestDaemon, namespace: string): Promise<void> {
  const archive = buildBusyboxArchive(d.dir);
  const r = await ctr(d, ["images", "import", archive], { namespace });
  if (r.code !== 0) {
    throw new Error(
      `ctr images import failed (exit ${r.code}); the task tests need image import with unpack ` +
        `(content, snapshots, diff, images, leases services) in containertsd:\n${r.stderr}${r.stdout}`,
    );
  }
}

/**
 * Removes what task tests leave when they fail: every task of `namespaces` killed and deleted through the
 * daemon (when it still runs), the daemon's shims killed by PID, the runc containers and cgroups of the
 * namespaces, then the daemon's temp dir (unmounting first).
 */
export async function cleanupDaemon(d: TestDaemon | undefined, namespaces: readonly string[]): Promise<void> {
  if (d === undefined) return;
  if (d.process.exitCode === null && d.process.signalCode === null) {
    for (const ns of namespaces) {
      const c = clients(d, ns);
      try {
        for (const t of await c.tasks.list(c.ctx).catch(() => [])) {
          await c.tasks.kill(c.ctx, { containerId: t.id, signal: 9, all: true }).catch(() => undefined);
          await c.tasks.delete(c.ctx, t.id).catch(() => undefined);
        }
      } finally {
        c.close();
      }
    }
  }
  await d.stop(5000);
  killPids(shimPidsFor(d.address));
  await waitFor(() => shimPidsFor(d.address).length === 0, 5000);
  for (const ns of namespaces) {
    await cleanupRunc(ns);
    cleanupCgroups(ns);
  }
  await d.cleanup();
}
