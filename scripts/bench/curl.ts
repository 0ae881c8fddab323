/** Downloads a URL with curl to /dev/null: the client side of the download measurements. */
export async function curlToNowhere(
  url: string,
  extraArgs: string[] = [],
): Promise<{ status: number; bytes: number; ms: number }> {
  const output = await new Deno.Command("curl", {
    args: ["-s", ...extraArgs, "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}", url],
    stdout: "piped",
  }).output();
  const [status, bytes, seconds] = new TextDecoder().decode(output.stdout).trim().split(" ").map(Number);
  return { status, bytes, ms: seconds * 1000 };
}
