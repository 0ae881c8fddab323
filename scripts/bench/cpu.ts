/**
 * CPU time of processes, from /proc/<pid>/stat, to show where a load test's time goes: one
 * process (its own threads), or a Postgres cluster (the postmaster, its live children, and the
 * children it has already reaped, which the kernel adds to the postmaster's cutime/cstime).
 */

const TICKS_PER_SECOND = 100;

function statFields(pid: number): number[] | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may contain spaces): state is field 3.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used, with its reaped children's when asked. */
export function processCpuSeconds(pid: number, withReapedChildren = false): number {
  const f = statFields(pid);
  if (!f) return 0;
  // utime, stime, cutime, cstime are fields 14-17, i.e. indexes 11-14 after the command name.
  const own = f[11] + f[12];
  return (withReapedChildren ? own + f[13] + f[14] : own) / TICKS_PER_SECOND;
}

/** CPU seconds of a whole Postgres cluster: postmaster, live backends, reaped backends. */
export function clusterCpuSeconds(postmasterPid: number): number {
  let total = processCpuSeconds(postmasterPid, true);
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const f = statFields(Number(entry.name));
    if (f && f[1] === postmasterPid) total += processCpuSeconds(Number(entry.name));
  }
  return total;
}

/** The postmaster of the cluster a backend belongs to. */
export function parentPid(pid: number): number {
  const f = statFields(pid);
  if (!f) throw new Error(`Process ${pid} is gone`);
  return f[1];
}
