/**
 * tsctr events against containertsd: the lines of one `run --rm` (with each runtime) are exactly those
 * the stock `ctr events` prints beside it, and filters narrow them.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUNC_V2, TSRUNC, type TaskFixture, eventually, startTaskFixture } from "../../../test/task-fixture.js";

interface Watcher {
  readonly child: ChildProcess;
  out(): string;
}

function watch(child: ChildProcess): Watcher {
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr?.resume();
  child.stdin?.end();
  return { child, out: () => out };
}

/** The topics of the lines about `id` (events of other objects are left out). */
function topicsOf(out: string, id: string): string[] {
  return out
    .split("\n")
    .filter((l) => l.includes(`"${id}"`))
    .map((l) => l.split(" ")[5]!);
}

describe("tsctr events", () => {
  let f: TaskFixture;
  beforeAll(async () => {
    f = await startTaskFixture();
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  /** Starts watchers and waits until each has seen a probe event (subscriptions have no acknowledgement). */
  async function subscribed(...ws: Watcher[]): Promise<void> {
    let n = 0;
    await eventually(async () => {
      await f.ctr(["namespaces", "create", `probe${n}`]);
      await f.ctr(["namespaces", "rm", `probe${n++}`]);
      return ws.every((w) => w.out().includes("/namespaces/create")) ? true : undefined;
    }, "the subscriptions");
  }

  async function stop(...ws: Watcher[]): Promise<void> {
    for (const w of ws) {
      const exited = once(w.child, "exit");
      w.child.kill("SIGTERM");
      await exited;
    }
  }

  it.each([RUNC_V2, TSRUNC])("shows the events of one run --rm with %s exactly as ctr events does", async (runtime) => {
    const ours = watch(f.spawnCli("tsctr", ["events"]));
    const stock = watch(f.spawnCli("ctr", ["events"]));
    try {
      await subscribed(ours, stock);
      const id = `ev-${runtime.split(".")[2]}`;
      const r = await f.tsctr(["run", "--rm", "--runtime", runtime, "--fifo-dir", f.fifoDir, f.image, id, "sh", "-c", "exit 3"]);
      expect(r.code).toBe(3);
      await eventually(() => (ours.out().includes("/containers/delete") && stock.out().includes("/containers/delete") ? true : undefined), "the last event");
      expect(topicsOf(ours.out(), id)).toEqual([
        "/snapshot/prepare",
        "/containers/create",
        "/tasks/create",
        "/tasks/start",
        "/tasks/exit",
        "/tasks/delete",
        "/snapshot/remove",
        "/containers/delete",
      ]);
      expect(ours.out()).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(\\.\\d+)? \\+0000 UTC ${f.namespace} /tasks/exit \\{"container_id":"${id}","id":"${id}","pid":\\d+,"exit_status":3,"exited_at":"[^"]+"\\}$`, "m"));
      const mine = ours.out().split("\n").filter((l) => l.includes(`"${id}"`));
      const theirs = stock.out().split("\n").filter((l) => l.includes(`"${id}"`));
      expect(mine).toEqual(theirs);
    } finally {
      await stop(ours, stock);
    }
  });

  it("applies filters", async () => {
    const ours = watch(f.spawnCli("tsctr", ["events", 'topic~="^/tasks/"', 'topic=="/namespaces/create"']));
    try {
      await subscribed(ours);
      expect((await f.tsctr(["run", "--rm", "--fifo-dir", f.fifoDir, f.image, "fl1", "true"])).code).toBe(0);
      await eventually(() => (ours.out().includes("/tasks/delete") ? true : undefined), "/tasks/delete");
      const topics = new Set(ours.out().split("\n").filter((l) => l !== "").map((l) => l.split(" ")[5]!));
      expect([...topics].sort()).toEqual(["/namespaces/create", "/tasks/create", "/tasks/delete", "/tasks/exit", "/tasks/start"]);
    } finally {
      await stop(ours);
    }
  });

  it("rejects a malformed filter", async () => {
    const r = await f.tsctr(["events", "topic=="]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ctr: failed parsing subscription filters: /);
  });
});
