/**
 * Resident memory of processes, from /proc: a process's own peak (VmHWM), another process's
 * current and peak, resetting a peak before a phase (clear_refs 5), and finding the processes of
 * one functions server by ancestry (other functions servers may run on the same machine).
 */

/** A /proc/<pid>/status field in bytes, or null when the process is gone. */
export function statusBytes(pid: number | "self", field: "VmRSS" | "VmHWM"): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** This process's peak resident memory, in bytes. */
export function ownPeakRss(): number {
  return statusBytes("self", "VmHWM") ?? 0;
}

/**
 * Resets a process's peak resident memory to its current one, so a later VmHWM covers only what
 * came after. Returns false where the kernel does not allow it (then sample instead).
 */
export function resetPeakRss(pid: number): boolean {
  try {
    Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

function parentOf(pid: string): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

/**
 * The Deno process under `rootPid` (any depth: npm's deno launcher is a Node process that starts
 * the real binary) whose command line contains `needle`, or null.
 */
export function findDenoProcess(rootPid: number, needle: string): number | null {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const parent = parentOf(entry.name);
    if (parent !== null) children.set(parent, [...children.get(parent) ?? [], Number(entry.name)]);
  }
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    try {
      const exe = Deno.readLinkSync(`/proc/${pid}/exe`);
      const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
      if (/\/deno$/.test(exe) && cmdline.includes(needle)) return pid;
    } catch {
      // gone, or not ours to read
    }
    queue.push(...children.get(pid) ?? []);
  }
  return null;
}

/**
 * Samples a process's resident memory every `intervalMs` until stopped; returns the peak seen
 * (the larger of the sampled VmRSS and the kernel's VmHWM, which catches spikes between samples).
 */
export function watchPeakRss(pid: number, intervalMs = 50): { stop(): number } {
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, statusBytes(pid, "VmRSS") ?? 0, statusBytes(pid, "VmHWM") ?? 0);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
