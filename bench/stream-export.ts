import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
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
 * stream in the same run (the median of three reads). Both run as child processes, so neither shares
 * the stand-in's event loop. The exporter's peak RSS is the kernel's high-water mark of its process
 * (`VmHWM` in /proc/<pid>/status), read before it is stopped. The exporter runs twice: with Node's
 * default heap sizing, and with `--max-old-space-size=128` as a container would set it.
 * Run with `npx tsx bench/stream-export.ts`; prints one JSON object.
 */

const count = Number(process.env["BENCH_EVENTS"] ?? 100_000)
const token = "bench-token"
const events = syntheticEvents(count, { payloadBytes: 1024 })
const lastId = `${1_700_000_000_000 + count - 1}-0`

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const bareReader = `
import { EventSource } from "eventsource"
const count = Number(process.env.COUNT)
let received = 0
let started = 0
const source = new EventSource(process.env.URL, {
  fetch: (input, init) => fetch(input, { ...init, headers: { "Last-Event-ID": "0-0", ...init.headers, authorization: "Bearer " + process.env.TOKEN } })
})
source.addEventListener("connected", () => { started = performance.now() })
source.addEventListener("create", () => {
  received += 1
  if (received === count) {
    source.close()
    process.stdout.write(JSON.stringify({ ms: performance.now() - started }))
  }
})
`

/** Seconds a bare `eventsource` client takes to receive every event, from its `connected` event. */
const bareRead = (url: string) =>
  new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", bareReader], {
      cwd: new URL("..", import.meta.url),
      env: { ...process.env, URL: `${url}/stream/live`, TOKEN: token, COUNT: String(count) },
      stdio: ["ignore", "pipe", "inherit"]
    })
    let output = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    child.once("exit", (code) => (code === 0 ? resolve(JSON.parse(output).ms / 1000) : reject(new Error(`the bare reader exited with ${code}`))))
  })

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
  let connectedAt = 0
  let state: { readonly last_written_msg_id?: string; readonly file_count?: number } = {}
  // Bounded: 20 ms polls for at most 10 minutes.
  for (let poll = 0; poll < 30_000 && state.last_written_msg_id !== lastId; poll++) {
    if (exporter.child.exitCode !== null) throw new Error(`the exporter exited early:\n${exporter.stderr()}`)
    if (connectedAt === 0 && standIn.stream.connections.length > connectionsBefore) connectedAt = performance.now()
    state = JSON.parse(standIn.connectors.get(connectorId)?.state || "null") ?? {}
    await sleep(20)
  }
  const seconds = (performance.now() - connectedAt) / 1000
  if (state.last_written_msg_id !== lastId) throw new Error("the exporter did not finish within 10 minutes")
  const rss = peakRssMb(exporter.child.pid ?? 0)
  exporter.child.kill("SIGTERM")
  const exit = await exporter.exited
  return { nodeOptions, seconds: Number(seconds.toFixed(2)), eventsPerSecond: Math.round(count / seconds), objects: state.file_count, peakRssMb: rss, exitCode: exit.code }
}

const s3 = await startS3Server()
const standIn = await startOpenCtiStandIn({ token, stream: { events } })
try {
  const bareSeconds: Array<number> = []
  for (let read = 0; read < 3; read++) bareSeconds.push(await bareRead(standIn.url))
  const median = [...bareSeconds].sort((a, b) => a - b)[1] ?? 0
  const bareRate = Math.round(count / median)
  const exporter = [await exportAll(standIn, s3, 1, ""), await exportAll(standIn, s3, 2, "--max-old-space-size=128")]
  console.log(JSON.stringify({
    events: count,
    eventBytes: events.at(0).data.length,
    bareEventSource: { eventsPerSecond: bareRate, seconds: bareSeconds.map((seconds) => Number(seconds.toFixed(2))) },
    exporter: exporter.map((run) => ({ ...run, ratio: Number((run.eventsPerSecond / bareRate).toFixed(2)) })),
    goals: { ratio: 0.5, peakRssMb: 256 }
  }, null, 2))
} finally {
  await standIn.close()
  await s3.close()
}
