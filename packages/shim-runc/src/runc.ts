/**
 * The runc command line, the way containerd's go-runc drives it: global `--root <root>/<namespace>
 * --log <bundle>/log.json --log-format json`, then one subcommand per operation. Failures reject with an
 * UnknownError whose message carries runc's exit status and output (`exit status 1: container not
 * running`), which callers inspect the way containerd does; {@link lastRuntimeError} reads the last error
 * runc logged, for the messages of create, start and exec failures.
 */
import { open, readFile, unlink, writeFile } from "node:fs/promises";
import { UnknownError } from "@containerts/errdefs";
import type { Reaper, RunResult } from "./reaper.js";

/** How runc is invoked for one container. */
export interface RuncConfig {
  /** The runc binary (name or path). */
  readonly command: string;
  /** `--root`: runc's state directory for the namespace. */
  readonly root: string;
  /** `--log`: the JSON log file (`<bundle>/log.json`). */
  readonly log: string;
  /** `--systemd-cgroup`. */
  readonly systemdCgroup: boolean;
}

/** Stdio for a process runc starts: file descriptors or `"ignore"` (/dev/null). */
export type RuncStdio = readonly [number | "ignore", number | "ignore", number | "ignore"];

/** Options of {@link Runc.create}. */
export interface CreateOptions {
  readonly pidFile: string;
  readonly consoleSocket?: string;
  readonly noPivot?: boolean;
  readonly noNewKeyring?: boolean;
  readonly stdio: RuncStdio;
}

/** Options of {@link Runc.exec}. */
export interface ExecOptions {
  readonly pidFile: string;
  readonly consoleSocket?: string;
  readonly stdio: RuncStdio;
}

/** A runc invocation helper for one runtime configuration. */
export class Runc {
  readonly config: RuncConfig;
  readonly #reaper: Reaper;

  constructor(config: RuncConfig, reaper: Reaper) {
    this.config = config;
    this.#reaper = reaper;
  }

  #global(): string[] {
    const a = ["--root", this.config.root, "--log", this.config.log, "--log-format", "json"];
    if (this.config.systemdCgroup) a.push("--systemd-cgroup");
    return a;
  }

  async #run(args: readonly string[], options: Parameters<Reaper["run"]>[2] = {}): Promise<RunResult> {
    const r = await this.#reaper.run(this.config.command, [...this.#global(), ...args], options);
    if (r.code !== 0) {
      const output = `${r.stdout}${r.stderr}`.trim();
      throw new UnknownError(`exit status ${r.code}${output === "" ? "" : `: ${output}`}`, { bare: true });
    }
    return r;
  }

  /** `runc create`: creates the container; its init waits for `start`. */
  async create(id: string, bundle: string, o: CreateOptions): Promise<void> {
    const args = ["create", "--bundle", bundle, "--pid-file", o.pidFile];
    if (o.consoleSocket !== undefined) args.push("--console-socket", o.consoleSocket);
    if (o.noPivot) args.push("--no-pivot");
    if (o.noNewKeyring) args.push("--no-new-keyring");
    await this.#run([...args, id], { stdio: o.stdio });
  }

  /** `runc start`. */
  async start(id: string): Promise<void> {
    await this.#run(["start", id]);
  }

  /** `runc exec --detach` of the process spec JSON in `processFile`. */
  async exec(id: string, processFile: string, o: ExecOptions): Promise<void> {
    const args = ["exec", "--process", processFile, "--detach", "--pid-file", o.pidFile];
    if (o.consoleSocket !== undefined) args.push("--console-socket", o.consoleSocket);
    await this.#run([...args, id], { stdio: o.stdio });
  }

  /** `runc kill [--all] <id> <signal>`. */
  async kill(id: string, signal: number, all: boolean): Promise<void> {
    await this.#run(["kill", ...(all ? ["--all"] : []), id, String(signal)]);
  }

  /** `runc delete [--force]`. */
  async delete(id: string, force: boolean): Promise<void> {
    await this.#run(["delete", ...(force ? ["--force"] : []), id]);
  }

  /** `runc pause`. */
  async pause(id: string): Promise<void> {
    await this.#run(["pause", id]);
  }

  /** `runc resume`. */
  async resume(id: string): Promise<void> {
    await this.#run(["resume", id]);
  }

  /** `runc ps --format json`: the pids in the container's cgroup. */
  async ps(id: string): Promise<number[]> {
    const r = await this.#run(["ps", "--format", "json", id]);
    const parsed: unknown = JSON.parse(r.stdout.trim() === "" ? "[]" : r.stdout);
    if (!Array.isArray(parsed)) throw new UnknownError(`runc ps: unexpected output ${r.stdout.slice(0, 200)}`);
    return parsed.filter((p): p is number => typeof p === "number");
  }

  /** `runc update --resources -` with the LinuxResources JSON on stdin. */
  async update(id: string, resourcesJson: string): Promise<void> {
    await this.#run(["update", "--resources", "-", id], { input: resourcesJson });
  }
}

/** The last `"level":"error"` message in a runc JSON log (its last 64 KiB), or "" when there is none. */
export async function lastRuntimeError(logFile: string): Promise<string> {
  let text: string;
  try {
    const fh = await open(logFile, "r");
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 64 << 10);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      text = buf.toString("utf8");
    } finally {
      await fh.close();
    }
  } catch {
    return "";
  }
  let msg = "";
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const entry = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if (entry.level === "error" && typeof entry.msg === "string") msg = entry.msg.trim();
    } catch {
      // a partial first line
    }
  }
  return msg;
}

/** Reads a pid file runc wrote. Rejects with the read error, or UnknownError for a malformed file. */
export async function readPidFile(path: string): Promise<number> {
  const text = (await readFile(path, "utf8")).trim();
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) throw new UnknownError(`pid file ${path}: malformed content ${JSON.stringify(text.slice(0, 32))}`);
  return pid;
}

/** Writes a process spec for `runc exec --process` and returns a function removing it again. */
export async function writeProcessFile(path: string, spec: unknown): Promise<() => Promise<void>> {
  await writeFile(path, JSON.stringify(spec), { mode: 0o600 });
  return () => unlink(path).catch(() => {});
}
