import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadCgroup, parseBlkio, parseKeyValues, statsV1, statsV2 } from "./cgroups.js";

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tsrunc-cg-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(base: string, contents: Record<string, string>): Promise<string> {
  await mkdir(base, { recursive: true });
  for (const [name, text] of Object.entries(contents)) await writeFile(join(base, name), text);
  return base;
}

describe("cgroup v1 statistics", () => {
  it("reads pids, cpu, cpuacct, memory, oom control, blkio and hugetlb like containerd's cgroups library", async () => {
    const proc = await files(join(dir, "proc"), { partitions: "major minor  #blocks  name\n\n   8        0   1000 sda\n 253        0   2000 vda\n" });
    const paths = {
      pids: await files(join(dir, "pids"), { "pids.current": "3\n", "pids.max": "max\n" }),
      cpuacct: await files(join(dir, "cpuacct"), { "cpuacct.usage": "123456789\n", "cpuacct.usage_percpu": "100 200 \n", "cpuacct.stat": "user 150\nsystem 50\n" }),
      cpu: await files(join(dir, "cpu"), { "cpu.stat": "nr_periods 10\nnr_throttled 2\nthrottled_time 999\n" }),
      memory: await files(join(dir, "memory"), {
        "memory.stat": "cache 4096\nrss 8192\nrss_huge 0\npgpgin 7\npgmajfault 1\nhierarchical_memory_limit 9223372036854771712\nhierarchical_memsw_limit 9223372036854771712\ntotal_pgpgout 5\nunknown_key 1\n",
        "memory.usage_in_bytes": "12288\n",
        "memory.max_usage_in_bytes": "20000\n",
        "memory.failcnt": "0\n",
        "memory.limit_in_bytes": "9223372036854771712\n",
        "memory.kmem.usage_in_bytes": "100\n",
        "memory.kmem.max_usage_in_bytes": "200\n",
        "memory.kmem.failcnt": "0\n",
        "memory.kmem.limit_in_bytes": "9223372036854771712\n",
        "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
      }),
      blkio: await files(join(dir, "blkio"), {
        "blkio.throttle.io_serviced": "253:0 Read 10\n253:0 Write 4\n253:0 Total 14\nTotal 14\n",
        "blkio.throttle.io_service_bytes": "253:0 Read 40960\n253:0 Write 8192\n",
      }),
      hugetlb: await files(join(dir, "hugetlb"), { "hugetlb.2MB.usage_in_bytes": "0\n", "hugetlb.2MB.max_usage_in_bytes": "4\n", "hugetlb.2MB.failcnt": "1\n" }),
    };
    const s = await statsV1(paths, proc);
    expect(s.pids).toEqual({ current: 3n, limit: 0n });
    expect(s.cpu?.usage).toEqual({ total: 123456789n, perCpu: [100n, 200n], user: 1_500_000_000n, kernel: 500_000_000n });
    expect(s.cpu?.throttling).toEqual({ periods: 10n, throttledPeriods: 2n, throttledTime: 999n });
    expect(s.memory).toMatchObject({
      cache: 4096n,
      rss: 8192n,
      pgPgIn: 7n,
      pgMajFault: 1n,
      hierarchicalMemoryLimit: 9223372036854771712n,
      hierarchicalSwapLimit: 9223372036854771712n,
      totalPgPgOut: 5n,
      usage: { usage: 12288n, max: 20000n, failcnt: 0n, limit: 9223372036854771712n },
      kernel: { usage: 100n, max: 200n, failcnt: 0n, limit: 9223372036854771712n },
    });
    expect(s.memory?.["swap"]).toBeUndefined(); // no memsw files: skipped
    expect(s.memoryOomControl).toEqual({ oomKillDisable: 0n, underOom: 0n, oomKill: 2n });
    expect(s.blkio?.ioServicedRecursive).toEqual([
      { op: "Read", device: "/dev/vda", major: 253n, minor: 0n, value: 10n },
      { op: "Write", device: "/dev/vda", major: 253n, minor: 0n, value: 4n },
      { op: "Total", device: "/dev/vda", major: 253n, minor: 0n, value: 14n },
    ]);
    expect(s.blkio?.ioServiceBytesRecursive).toHaveLength(2);
    expect(s.hugetlb).toEqual([{ pagesize: "2MB", usage: 0n, max: 4n, failcnt: 1n }]);
  });

  it("skips controllers whose files are missing", async () => {
    const s = await statsV1({ memory: join(dir, "gone") });
    expect(s.memory).toBeUndefined();
    expect(s.hugetlb).toEqual([]);
  });

  it("parses blkio lines with and without an op", () => {
    expect(parseBlkio("8:0 1234\n", new Map([["8 0", "/dev/sda"]]))).toEqual([{ op: "", device: "/dev/sda", major: 8n, minor: 0n, value: 1234n }]);
    expect(parseKeyValues("a 1\nb max\nbad\n")).toEqual(new Map([["a", 1n], ["b", 18446744073709551615n]]));
  });
});

describe("cgroup v2 statistics", () => {
  it("reads pids, cpu.stat, memory, io.stat, memory.events and hugetlb", async () => {
    const cg = await files(join(dir, "v2"), {
      "pids.current": "2\n",
      "pids.max": "100\n",
      "cpu.stat": "usage_usec 1000\nuser_usec 600\nsystem_usec 400\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
      "memory.stat": "anon 4096\nfile 8192\nkernel_stack 16384\nworkingset_refault 3\nthp_fault_alloc 1\n",
      "memory.current": "30000\n",
      "memory.max": "max\n",
      "memory.swap.current": "0\n",
      "memory.swap.max": "max\n",
      "io.stat": "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n",
      "memory.events": "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n",
      "hugetlb.2MB.current": "0\n",
      "hugetlb.2MB.max": "max\n",
    });
    const s = await statsV2(cg);
    expect(s.pids).toEqual({ current: 2n, limit: 100n });
    expect(s.cpu).toMatchObject({ usageUsec: 1000n, userUsec: 600n, systemUsec: 400n });
    expect(s.memory).toMatchObject({ anon: 4096n, file: 8192n, kernelStack: 16384n, workingsetRefault: 3n, thpFaultAlloc: 1n, usage: 30000n, usageLimit: 18446744073709551615n });
    expect(s.io?.usage).toEqual([{ major: 8n, minor: 0n, rbytes: 100n, wbytes: 200n, rios: 1n, wios: 2n }]);
    expect(s.memoryEvents).toEqual({ low: 0n, high: 0n, max: 1n, oom: 1n, oomKill: 1n });
    expect(s.hugetlb).toEqual([{ pagesize: "2MB", current: 0n, max: 18446744073709551615n }]);
  });
});

describe("loadCgroup", () => {
  it("finds this process's v1 controllers on this host", async () => {
    const cg = await loadCgroup(process.pid);
    expect(cg?.version).toBe(1);
    if (cg?.version === 1) expect(cg.paths["memory"]?.startsWith("/sys/fs/cgroup/memory")).toBe(true);
  });

  it("is undefined for a process that does not exist", async () => {
    expect(await loadCgroup(0x7ffffffe)).toBeUndefined();
  });
});
