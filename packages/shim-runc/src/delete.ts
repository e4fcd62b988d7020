/**
 * The `delete` action: clean up after a shim that died or could not be reconnected, without a server.
 * Force-deletes the runc container, unmounts `<bundle>/rootfs`, reads `init.pid`, and returns the
 * `DeleteResponse` the daemon reads from stdout (exit status 137, exited now). Failures of those steps
 * are logged to stderr and do not fail the action, as in containerd's runc shim.
 */
import { dirname, join } from "node:path";
import { InvalidArgumentError } from "@containerts/errdefs";
import { unmountAllAsync } from "@containerts/sys";
import type { ShimFlags } from "./flags.js";
import type { Logger } from "./log.js";
import { readBundleOptions, runcRoot, runtimeBinary } from "./options.js";
import { Reaper } from "./reaper.js";
import { Runc, readPidFile } from "./runc.js";

/** The outcome of `delete`. */
export interface DeleteResult {
  readonly pid: number;
  readonly exitStatus: number;
  readonly exitedAt: Date;
}

/** 128 + SIGKILL. */
export const KILLED_EXIT_STATUS = 137;

/** The bundle `delete` works on: `-bundle`, else `<parent of cwd>/<id>` as containerd's shim computes it. */
export function deleteBundle(flags: ShimFlags, cwd: string = process.cwd()): string {
  return flags.bundle !== "" ? flags.bundle : join(dirname(cwd), flags.id);
}

/**
 * Runs `delete` for the bundle (`-bundle`, else `<parent of cwd>/<id>` as containerd's shim computes it).
 * Errors: InvalidArgument for a missing namespace or id.
 */
export async function runDelete(flags: ShimFlags, log: Logger, cwd: string = process.cwd()): Promise<DeleteResult> {
  if (flags.namespace === "") throw new InvalidArgumentError("shim namespace cannot be empty");
  if (flags.id === "") throw new InvalidArgumentError("shim id cannot be empty");
  const bundle = deleteBundle(flags, cwd);
  const options = await readBundleOptions(bundle).catch((err: unknown) => {
    log.warn("failed to read options", { error: err });
    return undefined;
  });
  if (options !== undefined) {
    const runc = new Runc(
      { command: runtimeBinary(options), root: runcRoot(options, flags.namespace), log: join(bundle, "log.json"), systemdCgroup: options.systemdCgroup },
      new Reaper(log),
    );
    await runc.delete(flags.id, true).catch((err: unknown) => log.warn("failed to remove runc container", { error: err }));
  }
  await unmountAllAsync(join(bundle, "rootfs")).catch((err: unknown) => log.warn("failed to cleanup rootfs mount", { error: err }));
  const pid = await readPidFile(join(bundle, "init.pid")).catch((err: unknown) => {
    log.warn("failed to read init pid file", { error: err });
    return 0;
  });
  return { pid, exitStatus: KILLED_EXIT_STATUS, exitedAt: new Date() };
}
