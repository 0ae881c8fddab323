/**
 * Case 3's second look: the exports function's peak per download once its heap has grown to
 * what streaming needs. A fresh Deno process's heap grows with the bytes it has streamed (each
 * slice leaves garbage that V8 collects later) until it nears the heap cap the functions
 * server sets (--max-old-space-size=150, as the edge runtime's limit), where it plateaus; so a
 * phase that streams more bytes ends with a higher peak, up to that plateau, whatever the file size. Here the small file is
 * downloaded several times, then the large one, on the same warmed process, the peak reset
 * before each download.
 */
import { api } from "../../tests/support/api.ts";
import { resetPeakRss, statusBytes } from "./rss.ts";

/** Peaks of each download, in bytes. */
export interface SteadyMemory {
  smallPeaksBytes: number[];
  largePeakBytes: number;
}

async function downloadPeak(token: string, exportId: string, pid: number): Promise<number> {
  const current = await api(`/${exportId}`, { token });
  resetPeakRss(pid);
  const output = await new Deno.Command("curl", {
    args: ["-s", "-o", "/dev/null", "-w", "%{http_code}", current.body.file_url as string],
    stdout: "piped",
  }).output();
  if (new TextDecoder().decode(output.stdout) !== "200") throw new Error("A download failed");
  return statusBytes(pid, "VmHWM") ?? 0;
}

/** Downloads the small file `rounds` times, then the large one, each with its own peak. */
export async function steadyMemory(
  token: string,
  small: { exportId: string },
  large: { exportId: string },
  pid: number,
  rounds: number,
): Promise<SteadyMemory> {
  const smallPeaksBytes: number[] = [];
  for (let i = 0; i < rounds; i++) {
    smallPeaksBytes.push(await downloadPeak(token, small.exportId, pid));
  }
  const largePeakBytes = await downloadPeak(token, large.exportId, pid);
  return { smallPeaksBytes, largePeakBytes };
}
