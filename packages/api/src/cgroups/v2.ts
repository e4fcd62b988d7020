/**
 * cgroup v2 metrics (package `io.containerd.cgroups.v2`), the payload of task metrics on cgroup v2 hosts.
 *
 * Re-exports generated code (src/gen, never edited by hand); import from this subpath, never from gen.
 * @module
 */
export {
  CPUStat,
  HugeTlbStat,
  IOEntry,
  IOStat,
  MemoryEvents,
  MemoryStat,
  Metrics,
  PidsStat,
  RdmaEntry,
  RdmaStat,
} from "../gen/io/containerd/cgroups/v2/metrics.js";
