/**
 * Running a shim binary the way containerd does (`runtime/v2/binary.go`, `runtime/v2/shim/util.go`):
 * runtime name resolution, the `start` command (which prints the shim's address) and the `delete` command
 * (cleanup after a shim died).
 */
import { stat } from "node:fs/promises";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { InvalidArgumentError, NotFoundError, UnknownError } from "@containerts/errdefs";
import { spawnProgram } from "@containerts/sys";
import type { AnyValue, Exit } from "../task.js";
import { shimBinaryName } from "../naming.js";
import { decodeShimDeleteOutput, encodeAnyBytes } from "../grpc/convert.js";

/** How the daemon presents itself to shims. */
export interface ShimCommandConfig {
  /** The daemon's gRPC address (`-address`). */
  readonly address: string;
  /** The daemon's ttrpc address (`TTRPC_ADDRESS`): where shims forward events. */
  readonly ttrpcAddress: string;
  /** The daemon executable (`-publish-binary`). */
  readonly publishBinary: string;
  /** The environment shims inherit (the daemon's). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Pass `-debug`. */
  readonly debug: boolean;
  /** Add `SCHED_CORE=1`. */
  readonly schedCore: boolean;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function lookPath(name: string, pathEnv: string | undefined): Promise<string | undefined> {
  for (const dir of (pathEnv ?? "").split(delimiter)) {
    const candidate = join(dir === "" ? "." : dir, name);
    try {
      const s = await stat(candidate);
      if (s.isFile() && (s.mode & 0o111) !== 0) return resolve(candidate);
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Resolves runtime names to shim binaries by containerd's rule (`ShimManager.resolveRuntimePath`) and
 * caches the result per binary name:
 * 1. an absolute path is the binary itself (it must exist);
 * 2. `dirname(runtime)/<binary>` (relative to the daemon's working directory for a dotted name);
 * 3. `<binary>` on `PATH`;
 * 4. `<binary>` next to the daemon executable.
 */
export class RuntimeResolver {
  readonly #cache = new Map<string, string>();
  readonly #pathEnv: string | undefined;
  readonly #daemonDir: string;

  constructor(options: { pathEnv: string | undefined; daemonDir: string }) {
    this.#pathEnv = options.pathEnv;
    this.#daemonDir = options.daemonDir;
  }

  /**
   * The absolute path of the shim binary for `runtime`.
   * @throws InvalidArgumentError for an empty or malformed name; NotFoundError when an absolute path does
   *   not exist or no binary is installed for the name.
   */
  async resolve(runtime: string): Promise<string> {
    if (runtime === "") throw new InvalidArgumentError("no runtime name", { bare: true });
    if (isAbsolute(runtime)) {
      try {
        await stat(runtime);
      } catch (err) {
        throw new NotFoundError(`invalid custom binary path: stat ${runtime}: no such file or directory`, { cause: err, bare: true });
      }
      return runtime;
    }
    const name = shimBinaryName(runtime);
    if (name === "") {
      throw new InvalidArgumentError(
        `invalid runtime name ${runtime}, correct runtime name should be either format like \`io.containerd.runc.v1\` or a full path to the binary`,
        { bare: true },
      );
    }
    const cached = this.#cache.get(name);
    if (cached !== undefined) return cached;
    let found: string | undefined;
    const beside = resolve(join(dirname(runtime), name));
    if (await isFile(beside)) found = beside;
    found ??= await lookPath(name, this.#pathEnv);
    if (found === undefined) {
      const inDaemonDir = join(this.#daemonDir, name);
      if (await isFile(inDaemonDir)) found = resolve(inDaemonDir);
    }
    if (found === undefined) throw new NotFoundError(`runtime ${JSON.stringify(runtime)} binary not installed ${JSON.stringify(name)}`);
    const prior = this.#cache.get(name);
    if (prior !== undefined) return prior;
    this.#cache.set(name, found);
    return found;
  }
}

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** stdout and stderr interleaved as they arrived (Go's CombinedOutput). */
  readonly combined: Buffer;
}

/**
 * Runs a shim command with `posix_spawn` (see `@containerts/sys` spawnProgram: a fork of the daemon would
 * block its event loop for milliseconds on every task start). Aborting `signal` kills the command and
 * rejects with the signal's reason.
 */
async function runShimCommand(
  binary: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string>,
  stdin: Uint8Array | undefined,
  signal: AbortSignal | undefined,
): Promise<RunResult> {
  if (signal?.aborted) throw signal.reason;
  const r = await spawnProgram({
    file: resolve(binary),
    args,
    env,
    cwd,
    // containerd sets Setpgid; a new session also makes the shim its own process group leader.
    setsid: true,
    ...(stdin === undefined ? {} : { stdin }),
    ...(signal === undefined ? {} : { signal }),
  });
  if (signal?.aborted) throw signal.reason;
  return r;
}

function exitText(r: RunResult): string {
  return r.signal !== null ? `signal: ${r.signal === "SIGKILL" ? "killed" : r.signal}` : `exit status ${r.code ?? -1}`;
}

function commandEnv(config: ShimCommandConfig): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.env)) if (v !== undefined) env[k] = v;
  env["GOMAXPROCS"] = "2";
  env["TTRPC_ADDRESS"] = config.ttrpcAddress;
  if (config.schedCore) env["SCHED_CORE"] = "1";
  return env;
}

function baseArgs(config: ShimCommandConfig, namespace: string): string[] {
  return ["-namespace", namespace, "-address", config.address, "-publish-binary", config.publishBinary];
}

/**
 * Runs `<shim> -namespace <ns> -address <addr> -publish-binary <daemon> -id <id> [-debug] start` in the
 * bundle directory, in a new process group, with `GOMAXPROCS=2` and `TTRPC_ADDRESS` added to the
 * environment and the options Any (protobuf) on stdin, waits for it to exit and returns its trimmed
 * combined output: the shim's address.
 * @throws UnknownError `<output>: exit status N` when it fails.
 */
export async function shimStart(
  config: ShimCommandConfig,
  binary: string,
  namespace: string,
  id: string,
  bundlePath: string,
  options: AnyValue | undefined,
  signal?: AbortSignal,
): Promise<string> {
  const args = [...baseArgs(config, namespace), "-id", id, ...(config.debug ? ["-debug"] : []), "start"];
  const r = await runShimCommand(binary, args, bundlePath, commandEnv(config), options === undefined ? undefined : encodeAnyBytes(options), signal);
  const output = r.combined.toString("utf8");
  if (r.code !== 0) throw new UnknownError(`${output}: ${exitText(r)}`, { bare: true });
  const address = output.trim();
  if (address === "") throw new UnknownError(`shim ${binary} start printed no address`, { bare: true });
  return address;
}

/** What the `delete` command reported, and its warnings. */
export interface ShimDeleteResult {
  readonly exit: Exit;
  /** What the shim wrote on stderr (containerd logs it as cleanup warnings). */
  readonly warnings: string;
}

/**
 * Runs `<shim> -namespace <ns> -address <addr> -publish-binary <daemon> -id <id> -bundle <path> delete`
 * in the bundle directory (no stdin) and decodes the `containerd.task.v2.DeleteResponse` it prints.
 * @throws UnknownError `<stderr>: exit status N` when it fails, or when its output does not decode.
 */
export async function shimDelete(
  config: ShimCommandConfig,
  binary: string,
  namespace: string,
  id: string,
  bundlePath: string,
  signal?: AbortSignal,
): Promise<ShimDeleteResult> {
  const args = [...baseArgs(config, namespace), "-id", id, "-bundle", bundlePath, "delete"];
  let cwd = bundlePath;
  if (!(await stat(bundlePath).then((s) => s.isDirectory(), () => false))) cwd = "/";
  const r = await runShimCommand(binary, args, cwd, commandEnv(config), undefined, signal);
  const warnings = r.stderr.toString("utf8");
  if (r.code !== 0) throw new UnknownError(`${warnings}: ${exitText(r)}`, { bare: true });
  try {
    return { exit: decodeShimDeleteOutput(r.stdout), warnings };
  } catch (err) {
    throw new UnknownError(`decode delete response of shim ${binary}`, { cause: err });
  }
}
