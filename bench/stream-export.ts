import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"
import { performance } from "node:perf_hooks"
import { setTimeout as sleep } from "node:timers/promises"
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
 * stream in the same run. The bare reader reads the stream before and after every other run, and each
 * run is compared with the mean of the two reads around it, so that a load that comes and goes on the
 * machine weighs on both sides of a ratio. All run as child processes, so none
 * shares the stand-in's event loop. The exporter's peak RSS is the kernel's high-water mark of its process
 * (`VmHWM` in /proc/<pid>/status), read before it is stopped; its CPU time over the same span (user +
 * system, GC threads included) tells a busy machine from a slow exporter, as does the load average
 * printed with the figures. The exporter runs twice: as the image runs it (with the NODE_OPTIONS of the
 * Dockerfile, if it sets any), and with `--max-old-space-size=128` added, as a container with a memory
 * limit may set it. BENCH_NODE_OPTIONS (comma-separated) replaces the two.
 *
 * After each exporter run comes a third reader, the floor: the bare reader plus the work no exporter can
 * skip, written as one loop with no framework. Each event's data is validated with `JSON.parse`, its line
 * is encoded into a batch buffer, and each batch of WRITE_MAX_EVENTS (5 000) is written to the same S3
 * server with the AWS SDK, one write at a time, until the last is written; around each write, the state
 * goes to the platform as a connector's ping, once before (the object decided) and once after (the
 * object committed), the two steps without which a crash could write an event twice or lose it.
 * `ofFloor` is the exporter's rate over the floor's: how close it comes to what that work alone allows
 * on this machine; `cpuOfFloor` is the floor's CPU time over the exporter's for the same events, which
 * a load that comes and goes on the machine disturbs less than the rates.
 * Run with `npx tsx bench/stream-export.ts`; prints one JSON object.
 */

const count = Number(process.env["BENCH_EVENTS"] ?? 100_000)
const token = "bench-token"
const events = syntheticEvents(count, { payloadBytes: 1024 })
const lastId = `${1_700_000_000_000 + count - 1}-0`

/** The NODE_OPTIONS the image sets, so that the exporter is measured as a user runs it. */
const imageNodeOptions = /^ENV .*NODE_OPTIONS="([^"]*)"/m.exec(readFileSync(new URL("../Dockerfile", import.meta.url), "utf8"))?.[1] ?? ""

/** A reader child process: `setup` first, `work` for each event, `finish` after the last one. */
const reader = (parts: { readonly setup: string; readonly work: string; readonly finish: string }) => `
import { EventSource } from "eventsource"
${parts.setup}
const count = Number(process.env.COUNT)
let received = 0
let started = 0
let cpuAtStart = process.cpuUsage()
const source = new EventSource(process.env.URL, {
  fetch: (input, init) => fetch(input, { ...init, headers: { "Last-Event-ID": "0-0", ...init.headers, authorization: "Bearer " + process.env.TOKEN } })
})
source.addEventListener("connected", () => {
  started = performance.now()
  cpuAtStart = process.cpuUsage()
})
source.addEventListener("create", (event) => {
  ${parts.work}
  received += 1
  if (received === count) {
    source.close()
    ;(async () => {
      ${parts.finish}
      const cpu = process.cpuUsage(cpuAtStart)
      process.stdout.write(JSON.stringify({ ms: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000 }))
    })()
  }
})
`

const bareReader = reader({ setup: "", work: "", finish: "" })

/** The floor: validate, encode, and write each WRITE_MAX_EVENTS (5 000) events as one object, one write at a time. */
const floorReader = reader({
  setup: `
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3"
const s3 = new S3Client({
  endpoint: process.env.S3_ENDPOINT,
  region: process.env.S3_REGION,
  forcePathStyle: true,
  requestChecksumCalculation: "WHEN_REQUIRED",
  credentials: { accessKeyId: process.env.S3_ACCESS_KEY, secretAccessKey: process.env.S3_SECRET_KEY }
})
await s3.send(new CreateBucketCommand({ Bucket: "floor" })).catch(() => undefined)
let batch = Buffer.allocUnsafe(8 * 1024 * 1024)
let bytes = 0
let events = 0
let objects = 0
let lastId = ""
// The state goes to the platform as the exporter's does: with the connector's ping, answered before the next step.
const graphql = async (query, variables) => {
  const response = await fetch(process.env.OPENCTI_URL + "/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer " + process.env.TOKEN },
    body: JSON.stringify({ query, variables })
  })
  const answer = await response.json()
  if (answer.errors) throw new Error(JSON.stringify(answer.errors))
}
const connectorId = process.env.FLOOR_CONNECTOR_ID
await graphql("mutation ($input: RegisterConnectorInput) { registerConnector(input: $input) { id } }", {
  input: { id: connectorId, name: "floor", type: "STREAM", scope: [], auto: false, only_contextual: false }
})
const commit = (state) => graphql("mutation ($id: ID!, $state: String) { pingConnector(id: $id, state: $state) { id } }", { id: connectorId, state: JSON.stringify(state) })
let writes = Promise.resolve()
const write = (body, lastId) => {
  const fileNumber = ++objects
  const key = "floor/stream_" + Date.now() + "_" + fileNumber + ".json"
  // Decided (saved) before the write, committed after it: the two steps an exporter that writes each event once cannot skip.
  writes = writes
    .then(() => commit({ pending_object: { file_number: fileNumber, key, bytes: body.byteLength }, last_written_msg_id: lastId }))
    .then(() => s3.send(new PutObjectCommand({ Bucket: "floor", Key: key, Body: body, ContentType: "application/x-ndjson" })))
    .then(() => commit({ file_count: fileNumber, last_written_msg_id: lastId }))
}`,
  work: `
  lastId = event.lastEventId
  if (typeof JSON.parse(event.data) !== "object") throw new Error("not an object")
  if (bytes + event.data.length * 3 + 64 > batch.length) batch = Buffer.allocUnsafe(batch.length * 2)
  bytes += batch.write(event.data.slice(0, event.data.lastIndexOf("}")), bytes)
  bytes += batch.write(",\\"id\\":\\"" + event.lastEventId + "\\"}\\n", bytes)
  if (++events === 5000) {
    write(batch.subarray(0, bytes), event.lastEventId)
    batch = Buffer.allocUnsafe(batch.length)
    bytes = 0
    events = 0
  }`,
  finish: `
      if (events > 0) write(batch.subarray(0, bytes), lastId)
      await writes`
})

/** Seconds a reader child process takes to receive every event from its `connected` event, and the CPU seconds it spends so. */
const timedRead = (url: string, script: string, env: Record<string, string> = {}) =>
  new Promise<{ readonly seconds: number; readonly cpuSeconds: number }>((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("..", import.meta.url),
      env: { ...process.env, ...env, URL: `${url}/stream/live`, TOKEN: token, COUNT: String(count) },
      stdio: ["ignore", "pipe", "inherit"]
    })
    let output = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`a reader exited with ${code}`))
      const { ms, cpuMs } = JSON.parse(output)
      resolve({ seconds: ms / 1000, cpuSeconds: cpuMs / 1000 })
    })
  })

const bareRead = async (url: string) => (await timedRead(url, bareReader)).seconds

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
  /** Events per second of the bare reader around the latest run: the mean of the reads before and after it. */
  const bareRateAroundLast = async () => {
    bareSeconds.push(await bareRead(standIn.url))
    return Math.round(count / (((bareSeconds.at(-2) ?? 0) + (bareSeconds.at(-1) ?? 0)) / 2))
  }
  const floorEnv = { OPENCTI_URL: standIn.url, S3_ENDPOINT: s3.endpoint, S3_REGION: s3.region, S3_ACCESS_KEY: s3.accessKeyId, S3_SECRET_KEY: s3.secretAccessKey }
  const exporter = []
  for (const [index, nodeOptions] of (process.env["BENCH_NODE_OPTIONS"]?.split(",") ?? [imageNodeOptions, `${imageNodeOptions} --max-old-space-size=128`.trim()]).entries()) {
    const run = await exportAll(standIn, s3, index + 1, nodeOptions)
    const bareRate = await bareRateAroundLast()
    // The floor runs next to each exporter run, so that each has a floor measured under the same load.
    const floorRead = await timedRead(standIn.url, floorReader, { ...floorEnv, FLOOR_CONNECTOR_ID: `7c2e4a6b-8d0f-4e1a-9b3c-5d7e9f1a3b5${index}` })
    const floorRate = Math.round(count / floorRead.seconds)
    const bareRateAroundFloor = await bareRateAroundLast()
    exporter.push({
      ...run,
      bareEventsPerSecond: bareRate,
      ratio: Number((run.eventsPerSecond / bareRate).toFixed(2)),
      floor: { eventsPerSecond: floorRate, ratio: Number((floorRate / bareRateAroundFloor).toFixed(2)), cpuSeconds: Number(floorRead.cpuSeconds.toFixed(2)) },
      ofFloor: Number((run.eventsPerSecond / floorRate).toFixed(2)),
      cpuOfFloor: Number((floorRead.cpuSeconds / run.cpuSeconds).toFixed(2))
    })
  }
  console.log(JSON.stringify({
    machine: { cpus: availableParallelism(), loadAverage1m: { before: Number(loadBefore[0]?.toFixed(2)), after: Number(loadavg()[0]?.toFixed(2)) } },
    events: count,
    eventBytes: events.at(0).data.length,
    bareEventSource: { seconds: bareSeconds.map((seconds) => Number(seconds.toFixed(2))) },
    floorWork: "bare reader + JSON.parse + UTF-8 encode + per 5 000 events: ping (decided), S3 PutObject, ping (committed), one object at a time, no framework",
    exporter,
    goals: { ratio: 0.5, peakRssMb: 256 }
  }, null, 2))
} finally {
  await standIn.close()
  await s3.close()
}
