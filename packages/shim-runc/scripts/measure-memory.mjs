#!/usr/bin/env node
// Measures shim memory per running container under a real containerd 1.6 (temp paths): N containers
// (`ctr run -d … sleep`) through this shim one-per-container, through this shim grouped into one process
// (the io.containerd.runc.v2.group annotation), and through the stock containerd-shim-runc-v2.
// Prints, per mode, the summed RSS, anonymous RSS and PSS of the shim processes divided by N.
//
//   pnpm --filter @containerts/shim-runc build && node packages/shim-runc/scripts/measure-memory.mjs [N]
//
// Needs the built @containerts/testkit and @containerts/testimages (pnpm build).
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildBusybox } from "../../../tools/testimages/dist/index.js";
import { ctr, startContainerd } from "../../../tools/testkit/dist/index.js";

const n = Number(process.argv[2] ?? 5);
const bin = join(dirname(fileURLToPath(import.meta.url)), "../bin");
const dir = await mkdtemp(join(tmpdir(), "tsrunc-mem-"));
const d = await startContainerd({ env: { PATH: `${bin}:${process.env.PATH}`, CONTAINERTS_SHIM_SOCKET_DIR: join(dir, "s") } });
const ns = "memory";
const c = (args) => ctr(d, args, { namespace: ns });

function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  const pss = Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), pss };
}

function ppid(pid) {
  return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[1]);
}

async function mode(name, runtime, annotations) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const id = `${name}-${i}`;
    const r = await c(["run", "-d", "--runtime", runtime, ...annotations.flatMap((a) => ["--annotation", a]), "docker.io/library/busybox:latest", id, "sleep", "3600"]);
    if (r.code !== 0) throw new Error(`${id}: ${r.stderr}`);
    ids.push(id);
  }
  await new Promise((r) => setTimeout(r, 1500)); // let the shims settle
  const ls = (await c(["tasks", "ls"])).stdout;
  const shims = new Set();
  for (const id of ids) shims.add(ppid(Number(new RegExp(`^${id}\\s+(\\d+)`, "m").exec(ls)[1])));
  const total = { rss: 0, anon: 0, pss: 0 };
  for (const pid of shims) for (const [k, v] of Object.entries(memory(pid))) total[k] += v;
  const per = (v) => `${(v / n / 1024).toFixed(1)} MiB`;
  console.log(`${name.padEnd(8)} ${n} containers, ${shims.size} shim process(es): per container RSS ${per(total.rss)}, anon ${per(total.anon)}, PSS ${per(total.pss)}`);
  for (const id of ids) {
    await c(["tasks", "kill", "-s", "SIGKILL", id]);
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const id of ids) {
    await c(["tasks", "rm", "-f", id]);
    await c(["containers", "rm", id]);
  }
}

try {
  await buildBusybox(join(dir, "busybox.tar"));
  await c(["images", "import", join(dir, "busybox.tar")]);
  await mode("tsrunc", "io.containerts.tsrunc.v1", []);
  await mode("grouped", "io.containerts.tsrunc.v1", ["io.containerd.runc.v2.group=memory"]);
  await mode("stock", "io.containerd.runc.v2", []);
} finally {
  await d.cleanup();
  await rm(dir, { recursive: true, force: true });
  await rm(`/run/containerts/runc/${ns}`, { recursive: true, force: true });
  await rm(`/run/containerd/runc/${ns}`, { recursive: true, force: true });
}
