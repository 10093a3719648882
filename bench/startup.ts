import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"

/**
 * Start-up of each connector: from the spawn of `node dist/main.js <command>` (built first) to the
 * arrival of its first HTTP request at a local server standing in for the platform, which answers 503
 * (only the arrival time matters; the process is killed then, with SIGKILL). The commands are the subcommands that
 * `node dist/main.js --help` lists, so a new connector is measured as soon as it is registered, with the
 * settings below (one environment for all: each connector reads its own variables and ignores the rest).
 *
 * The baseline, in the same run, is bare Node: `node -e` of a script that does nothing but send one
 * request to the same server, spawned the same way. Each round spawns the baseline and every command
 * once, one after another, so that a load that comes and goes on the machine weighs on all of them;
 * BENCH_RUNS (default 15) rounds, reported as medians in ms and as the ratio of each connector's
 * median to the baseline's. The connectors run with Node's compile cache (see src/main.ts) in a
 * directory of the bench's own, empty at the start: the first round fills it, so the medians are those
 * of a connector started again on the same host. Each round also starts every connector with
 * NODE_DISABLE_COMPILE_CACHE=1 (`withoutCompileCache`): the first start in a new container. Next to the wall time, the CPU time (user + system) the process had spent
 * when its request arrived, from /proc/<pid>/stat in ticks of 10 ms: on a loaded machine the wall time
 * grows with the wait for a core, the CPU time does not. Run with `npx tsx bench/startup.ts`; prints one JSON object.
 */

const runs = Number(process.env["BENCH_RUNS"] ?? 15)
const mainScript = fileURLToPath(new URL("../dist/main.js", import.meta.url))

const compileCache = mkdtempSync(join(tmpdir(), "bench-startup-compile-cache-"))

/** Settings that let every connector pass its configuration and go to the platform first. */
const settings = (platformUrl: string): Record<string, string> => ({
  PATH: process.env["PATH"] ?? "",
  NODE_COMPILE_CACHE: compileCache,
  OPENCTI_URL: platformUrl,
  OPENCTI_TOKEN: "bench-token",
  CONNECTOR_ID: "5d1f6a2e-3c4b-4d5e-9f60-718293a4b5c6",
  CONNECTOR_LOG_LEVEL: "error",
  CONNECTOR_METRICS_PORT: "0",
  CONNECTOR_LIVE_STREAM_ID: "live",
  S3_ENDPOINT_URL: "http://127.0.0.1:1",
  S3_ACCESS_KEY_ID: "bench",
  S3_SECRET_ACCESS_KEY: "bench-secret",
  S3_BUCKET_NAME: "bench",
  MINIO_ENDPOINT: "127.0.0.1",
  MINIO_PORT: "1",
  MINIO_BUCKET: "bench",
  MINIO_DST_PATH: "bench-done",
  MINIO_ACCESS_KEY: "bench",
  MINIO_SECRET_KEY: "bench-secret"
})

/** The subcommands listed by the CLI's help. */
const commands = (): ReadonlyArray<string> => {
  const help = spawnSync(process.execPath, [mainScript, "--help"], { encoding: "utf8" }).stdout
  const section = help.split("SUBCOMMANDS")[1] ?? ""
  return section.split("\n").flatMap((line) => /^\s+([a-z0-9-]+)\s{2,}/.exec(line)?.[1] ?? [])
}

/** The platform stand-in: resolves `next()` with the arrival time of the next request. */
const startPlatform = async () => {
  let waiting: ((at: number) => void) | undefined
  const server = createServer((request, response) => {
    const at = performance.now()
    request.resume()
    response.writeHead(503).end()
    waiting?.(at)
    waiting = undefined
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    next: () => new Promise<number>((resolve) => (waiting = resolve)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

type Platform = Awaited<ReturnType<typeof startPlatform>>

/** The CPU time (user + system) of a running process, in ms: /proc/<pid>/stat counts it in ticks of 10 ms. */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}

interface Sample {
  readonly wallMs: number
  readonly cpuMs: number
}

/** From spawn to the first request of `node <args>`; fails if the process ends first. */
const timeToFirstRequest = async (platform: Platform, subject: Subject): Promise<Sample> => {
  const { args, env } = subject
  const arrived = platform.next()
  const started = performance.now()
  const child = spawn(process.execPath, args, { env: { ...settings(platform.url), ...env }, stdio: ["ignore", "pipe", "pipe"] })
  let stderr = ""
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  child.stdout.resume()
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const first = await Promise.race([arrived, exited.then((code) => ({ code }))])
  if (typeof first !== "number") {
    throw new Error(`node ${args.slice(1).join(" ")} exited (${first.code}) before its first request: ${stderr.trim().split("\n").at(-1)}`)
  }
  const cpu = cpuMs(child.pid!)
  child.kill("SIGKILL")
  await exited
  return { wallMs: first - started, cpuMs: cpu }
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const round = (value: number, digits: number) => Number(value.toFixed(digits))

interface Subject {
  readonly args: ReadonlyArray<string>
  readonly env?: Record<string, string>
}

const withoutCache = " (without compile cache)"
const platform = await startPlatform()
const subjects: Record<string, Subject> = {
  baseline: { args: ["-e", "require('node:http').get(process.env.OPENCTI_URL).on('error', () => {})"] },
  ...Object.fromEntries(commands().flatMap((command) => [
    [command, { args: [mainScript, command] }],
    [`${command}${withoutCache}`, { args: [mainScript, command], env: { NODE_DISABLE_COMPILE_CACHE: "1" } }]
  ]))
}
const samples: Record<string, Array<Sample>> = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]))
const loadBefore = loadavg()
for (let run = 0; run < runs; run += 1) {
  for (const [name, subject] of Object.entries(subjects)) samples[name]!.push(await timeToFirstRequest(platform, subject))
}
await platform.close()
rmSync(compileCache, { recursive: true, force: true })

const summary = (values: ReadonlyArray<Sample>) => ({
  medianMs: round(median(values.map((sample) => sample.wallMs)), 1),
  minMs: round(Math.min(...values.map((sample) => sample.wallMs)), 1),
  medianCpuMs: median(values.map((sample) => sample.cpuMs))
})

const baseline = summary(samples["baseline"]!)
const connectors = Object.fromEntries(
  Object.entries(samples)
    .filter(([name]) => name !== "baseline" && !name.endsWith(withoutCache))
    .map(([name, values]) => {
      const figures = summary(values)
      const { medianMs, medianCpuMs } = summary(samples[`${name}${withoutCache}`]!)
      return [name, {
        ...figures,
        ratio: round(figures.medianMs / baseline.medianMs, 2),
        cpuRatio: round(figures.medianCpuMs / baseline.medianCpuMs, 2),
        withoutCompileCache: { medianMs, medianCpuMs }
      }]
    })
)
process.stdout.write(`${JSON.stringify({
  runs,
  baseline,
  connectors,
  loadAverage: { before: round(loadBefore[0]!, 2), after: round(loadavg()[0]!, 2) }
}, null, 2)}\n`)
