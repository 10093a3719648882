import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"
import { performance } from "node:perf_hooks"
import { startConnector } from "../test/support/ConnectorProcess.js"
import { startOpenCtiStandIn } from "../test/support/OpenCtiStandIn.js"
import type { OpenCtiStandIn } from "../test/support/OpenCtiStandIn.js"
import { syntheticEvents } from "../test/support/opencti/streamEvents.js"
import { startS3Server } from "../test/support/S3Server.js"
import type { S3ServerHandle } from "../test/support/S3Server.js"

/**
 * Events per second of the stream exporter (`node dist/main.js stream-export`, built first) over
 * BENCH_EVENTS (default 100 000) events of about 1 KB from the OpenCTI stand-in, from its connection
 * to the commit of the last event on the platform, against a bare `eventsource` reader of the same
 * stream in the same run. The bare reader reads the stream before, between and after the exporter
 * runs, and each run is compared with the mean of the two reads around it, so that a load that comes
 * and goes on the machine weighs on both sides of a ratio. Both run as child processes, so neither
 * shares the stand-in's event loop. The exporter's peak RSS is the kernel's high-water mark of its process
 * (`VmHWM` in /proc/<pid>/status), read before it is stopped; its CPU time over the same span (user +
 * system, GC threads included) tells a busy machine from a slow exporter, as does the load average
 * printed with the figures. The exporter runs twice: as the image runs it (with the NODE_OPTIONS of the
 * Dockerfile), and with `--max-old-space-size=128` added, as a container with a memory limit may set
 * it. BENCH_NODE_OPTIONS (comma-separated) replaces the two.
 *
 * A third reader, the floor, is the bare reader plus the work no exporter can skip, with no framework
 * and no upload: each event's data is validated with `JSON.parse`, its line is encoded into a batch
 * buffer, and each batch of WRITE_MAX_EVENTS (5 000) is hashed with SHA-256 as signing its upload
 * requires. It shows how much of the exporter's time is that work and how much is the rest.
 * Run with `npx tsx bench/stream-export.ts`; prints one JSON object.
 */

const count = Number(process.env["BENCH_EVENTS"] ?? 100_000)
const token = "bench-token"
const events = syntheticEvents(count, { payloadBytes: 1024 })
const lastId = `${1_700_000_000_000 + count - 1}-0`

/** The NODE_OPTIONS the image sets, so that the exporter is measured as a user runs it. */
const imageNodeOptions = /^ENV .*NODE_OPTIONS="([^"]*)"/m.exec(readFileSync(new URL("../Dockerfile", import.meta.url), "utf8"))?.[1] ?? ""

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A reader that does `work` with each event's data (none for the bare reader). */
const reader = (work: string) => `
import { EventSource } from "eventsource"
import { createHash } from "node:crypto"
const count = Number(process.env.COUNT)
let received = 0
let started = 0
let batch = Buffer.allocUnsafe(8 * 1024 * 1024)
let bytes = 0
let events = 0
const source = new EventSource(process.env.URL, {
  fetch: (input, init) => fetch(input, { ...init, headers: { "Last-Event-ID": "0-0", ...init.headers, authorization: "Bearer " + process.env.TOKEN } })
})
source.addEventListener("connected", () => { started = performance.now() })
source.addEventListener("create", (event) => {
  ${work}
  received += 1
  if (received === count) {
    source.close()
    process.stdout.write(JSON.stringify({ ms: performance.now() - started }))
  }
})
`

const bareReader = reader("")

const floorReader = reader(`
  if (typeof JSON.parse(event.data) !== "object") throw new Error("not an object")
  if (bytes + event.data.length * 3 + 64 > batch.length) batch = Buffer.allocUnsafe(batch.length * 2)
  bytes += batch.write(event.data.slice(0, event.data.lastIndexOf("}")), bytes)
  bytes += batch.write(",\\"id\\":\\"" + event.lastEventId + "\\"}\\n", bytes)
  if (++events === 5000) {
    createHash("sha256").update(batch.subarray(0, bytes)).digest("hex")
    bytes = 0
    events = 0
  }
`)

/** Seconds a reader child process takes to receive every event, from its `connected` event. */
const timedRead = (url: string, script: string) =>
  new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("..", import.meta.url),
      env: { ...process.env, URL: `${url}/stream/live`, TOKEN: token, COUNT: String(count) },
      stdio: ["ignore", "pipe", "inherit"]
    })
    let output = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    child.once("exit", (code) => (code === 0 ? resolve(JSON.parse(output).ms / 1000) : reject(new Error(`a reader exited with ${code}`))))
  })

const bareRead = (url: string) => timedRead(url, bareReader)

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
const cpuSeconds = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? []
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const peakRssMb = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((text) => text.startsWith("VmHWM:"))
  return Math.round(Number(/(\d+)/.exec(line ?? "")?.[1] ?? 0) / 1024)
}

/** One exporter run over the whole stream, as a fresh connector writing to its own folder. */
const exportAll = async (standIn: OpenCtiStandIn, s3: S3ServerHandle, run: number, nodeOptions: string) => {
  const connectorId = `9b1f3c5e-7d2a-4b6c-8e0f-1a2b3c4d5e6${run}`
  const { hostname, port } = new URL(s3.endpoint)
  const connectionsBefore = standIn.stream.connections.length
  const exporter = startConnector("stream-export", {
    ...(nodeOptions === "" ? {} : { NODE_OPTIONS: nodeOptions }),
    OPENCTI_URL: standIn.url,
    OPENCTI_TOKEN: token,
    CONNECTOR_ID: connectorId,
    CONNECTOR_LIVE_STREAM_ID: "live",
    CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE: "false",
    MINIO_ENDPOINT: hostname,
    MINIO_PORT: port,
    MINIO_BUCKET: "bench",
    MINIO_FOLDER: `run-${run}`,
    MINIO_ACCESS_KEY: s3.accessKeyId,
    MINIO_SECRET_KEY: s3.secretAccessKey,
    WRITE_EVERY_SEC: "1"
  })
  const pid = exporter.child.pid ?? 0
  let connectedAt = 0
  let cpuAtConnection = 0
  let state: { readonly last_written_msg_id?: string; readonly file_count?: number } = {}
  // Bounded: 20 ms polls for at most 10 minutes.
  for (let poll = 0; poll < 30_000 && state.last_written_msg_id !== lastId; poll++) {
    if (exporter.child.exitCode !== null) throw new Error(`the exporter exited early:\n${exporter.stderr()}`)
    if (connectedAt === 0 && standIn.stream.connections.length > connectionsBefore) {
      connectedAt = performance.now()
      cpuAtConnection = cpuSeconds(pid)
    }
    state = JSON.parse(standIn.connectors.get(connectorId)?.state || "null") ?? {}
    await sleep(20)
  }
  const seconds = (performance.now() - connectedAt) / 1000
  if (state.last_written_msg_id !== lastId) throw new Error("the exporter did not finish within 10 minutes")
  const cpu = cpuSeconds(pid) - cpuAtConnection
  const rss = peakRssMb(pid)
  exporter.child.kill("SIGTERM")
  const exit = await exporter.exited
  return { nodeOptions, seconds: Number(seconds.toFixed(2)), eventsPerSecond: Math.round(count / seconds), cpuSeconds: Number(cpu.toFixed(2)), objects: state.file_count, peakRssMb: rss, exitCode: exit.code }
}

const loadBefore = loadavg()
const s3 = await startS3Server()
const standIn = await startOpenCtiStandIn({ token, stream: { events } })
try {
  // Not counted: the stand-in's first pass over the stream runs code not yet optimised.
  await bareRead(standIn.url)
  const bareSeconds = [await bareRead(standIn.url)]
  const exporter = []
  for (const [index, nodeOptions] of (process.env["BENCH_NODE_OPTIONS"]?.split(",") ?? [imageNodeOptions, `${imageNodeOptions} --max-old-space-size=128`.trim()]).entries()) {
    const run = await exportAll(standIn, s3, index + 1, nodeOptions)
    bareSeconds.push(await bareRead(standIn.url))
    const bareRate = Math.round(count / (((bareSeconds[index] ?? 0) + (bareSeconds[index + 1] ?? 0)) / 2))
    exporter.push({ ...run, bareEventsPerSecond: bareRate, ratio: Number((run.eventsPerSecond / bareRate).toFixed(2)) })
  }
  const floorSeconds = await timedRead(standIn.url, floorReader)
  const bareRateAroundFloor = count / (((bareSeconds.at(-1) ?? 0) + (await bareRead(standIn.url))) / 2)
  console.log(JSON.stringify({
    machine: { cpus: availableParallelism(), loadAverage1m: { before: Number(loadBefore[0]?.toFixed(2)), after: Number(loadavg()[0]?.toFixed(2)) } },
    events: count,
    eventBytes: events.at(0).data.length,
    bareEventSource: { seconds: bareSeconds.map((seconds) => Number(seconds.toFixed(2))) },
    floor: {
      work: "bare reader + JSON.parse + UTF-8 encode + SHA-256 per batch, no framework, no upload",
      seconds: Number(floorSeconds.toFixed(2)),
      eventsPerSecond: Math.round(count / floorSeconds),
      ratio: Number((count / floorSeconds / bareRateAroundFloor).toFixed(2))
    },
    exporter,
    goals: { ratio: 0.5, peakRssMb: 256 }
  }, null, 2))
} finally {
  await standIn.close()
  await s3.close()
}
