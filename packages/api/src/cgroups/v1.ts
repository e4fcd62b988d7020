/**
 * cgroup v1 metrics (package `io.containerd.cgroups.v1`), the payload of task metrics on cgroup v1 hosts.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  BlkIOEntry,
  BlkIOStat,
  CgroupStats,
  CPUStat,
  CPUUsage,
  HugetlbStat,
  MemoryEntry,
  MemoryOomControl,
  MemoryStat,
  Metrics,
  NetworkStat,
  PidsStat,
  RdmaEntry,
  RdmaStat,
  Throttle,
} from "../gen/io/containerd/cgroups/v1/metrics.js";
