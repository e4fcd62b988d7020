/**
 * `run -t` in a real terminal: a private tmux server runs `tsctr run -t --rm IMAGE ID sh` (and the stock
 * `ctr run -t` against containertsd) in a pane; the test types into the pane, reads the screen, resizes
 * the window, and reads the pane's exit status. The tmux server is killed by its pid afterwards.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { tsctrBin } from "@containerts/testkit";
import { RUNC_V2, TSRUNC, type TaskFixture, eventually, isEmptyDir, startTaskFixture } from "../../../test/task-fixture.js";

/** Quotes a word for sh. */
function q(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/**
 * The pane's command: `argv`, then its exit status printed and passed on. tmux records a pane's exit
 * status from SIGCHLD, but drops it when the child exits while tmux is in libutempter's helper (which
 * resets SIGCHLD while it waits), a race that multi-threaded exits such as Node's make likely; the
 * printed status does not depend on it.
 */
function paneCommand(argv: readonly string[]): string {
  return `${argv.map(q).join(" ")}; s=$?; echo "exit-status=$s"; exit $s`;
}

describe("run -t in tmux", () => {
  let f: TaskFixture;
  let socket: string;
  let serverPid: number | undefined;
  let sessions = 0;

  const tmux = (...args: string[]): string => {
    const r = spawnSync("tmux", ["-S", socket, ...args], { encoding: "utf8" });
    if (r.error !== undefined) throw r.error;
    if (r.status !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const screen = () => tmux("capture-pane", "-p", "-t", "s");

  /** The exit status of the pane's client, once the pane is dead (and tmux's record of it agrees when it has one). */
  async function paneExit(): Promise<number> {
    const status = await eventually(() => {
      const m = /^exit-status=(\d+)$/m.exec(screen());
      return m === null ? undefined : Number(m[1]);
    }, "the client to exit");
    const [dead, code] = await eventually(() => {
      const v = tmux("display", "-p", "-t", "s", "#{pane_dead} #{pane_dead_status}").trim().split(" ");
      return v[0] === "1" ? v : undefined;
    }, "the pane to die");
    expect(dead).toBe("1");
    if (code !== undefined && code !== "") expect(Number(code)).toBe(status);
    return status;
  }

  beforeAll(async () => {
    const which = spawnSync("tmux", ["-V"], { encoding: "utf8" });
    if (which.status !== 0) throw new Error("tmux is not installed (./quickstart.sh installs it)");
    f = await startTaskFixture();
    writeFileSync(join(f.dir, "tmux.conf"), "set -g remain-on-exit on\n");
  });

  beforeEach(() => {
    // A server of its own per test (a server that is shutting down refuses new sessions).
    socket = join(f.dir, `tmux-${sessions++}.sock`);
  });

  afterEach(() => {
    spawnSync("tmux", ["-S", socket, "kill-server"], { stdio: "ignore" });
    if (serverPid !== undefined) {
      try {
        process.kill(serverPid, "SIGKILL");
      } catch {
        // already gone
      }
      serverPid = undefined;
    }
  });

  afterAll(async () => {
    await f?.cleanup();
  });

  const clients = [
    ["tsctr", RUNC_V2],
    ["tsctr", TSRUNC],
    ["ctr", RUNC_V2],
    ["ctr", TSRUNC],
  ] as const;

  it.each(clients)("%s run -t with %s: interactive shell, window size, exit code", async (cli, runtime) => {
    const id = `tt-${cli}-${runtime.split(".")[2]}`;
    const bin = cli === "tsctr" ? tsctrBin : "ctr";
    const command = paneCommand([bin, "--address", f.daemon.address, "--namespace", f.namespace, "run", "-t", "--rm", "--runtime", runtime, "--fifo-dir", f.fifoDir, f.image, id, "sh"]);
    tmux("-f", join(f.dir, "tmux.conf"), "new-session", "-d", "-s", "s", "-x", "100", "-y", "30", command);
    serverPid = Number(tmux("display", "-p", "-t", "s", "#{pid}").trim());

    await eventually(() => (/^\/ # ?$/m.test(screen()) ? true : undefined), "the shell prompt");
    tmux("send-keys", "-t", "s", "stty size", "Enter");
    await eventually(() => (/^30 100$/m.test(screen()) ? true : undefined), "the initial window size in the container");
    tmux("resize-window", "-t", "s", "-x", "90", "-y", "25");
    // The new size travels SIGWINCH → client → ResizePty → shim → pty: ask until it has arrived.
    let last = 0;
    await eventually(() => {
      if (/^25 90$/m.test(screen())) return true;
      if (Date.now() - last > 300) {
        tmux("send-keys", "-t", "s", "stty size", "Enter");
        last = Date.now();
      }
      return undefined;
    }, "the new window size in the container");

    tmux("send-keys", "-t", "s", "echo hello-tty; exit 5", "Enter");
    const status = await paneExit();
    expect(screen()).toMatch(/^hello-tty\r?$/m);
    expect(status).toBe(5);
    // --rm: no container, task or FIFO left.
    expect((await f.ctr(["containers", "ls", "-q"])).stdout).toBe("");
    expect((await f.ctr(["tasks", "ls", "-q"])).stdout).toBe("");
    expect(isEmptyDir(f.fifoDir)).toBe(true);
  });

  it("tsctr tasks exec -t gives the exec process a terminal and exits with its code", async () => {
    expect((await f.tsctr(["run", "-d", "--fifo-dir", f.fifoDir, f.image, "tx1", "sleep", "1000"])).code).toBe(0);
    try {
      const command = paneCommand([tsctrBin, "--address", f.daemon.address, "--namespace", f.namespace, "tasks", "exec", "-t", "--fifo-dir", f.fifoDir, "--exec-id", "sh1", "tx1", "sh"]);
      tmux("-f", join(f.dir, "tmux.conf"), "new-session", "-d", "-s", "s", "-x", "80", "-y", "24", command);
      serverPid = Number(tmux("display", "-p", "-t", "s", "#{pid}").trim());
      await eventually(() => (/^\/ # ?$/m.test(screen()) ? true : undefined), "the shell prompt");
      tmux("send-keys", "-t", "s", "tty; stty size; exit 9", "Enter");
      const status = await paneExit();
      expect(screen()).toMatch(/^\/dev\/pts\/\d+\r?$/m);
      expect(screen()).toMatch(/^24 80\r?$/m);
      expect(status).toBe(9);
    } finally {
      await f.removeAll();
    }
  });
});
