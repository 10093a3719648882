import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3"
import type { S3Client } from "@aws-sdk/client-s3"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"
import { performance } from "node:perf_hooks"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { startConnector } from "../test/support/ConnectorProcess.js"
import { createBucket, listAllKeys, putObjects } from "../test/support/S3Bucket.js"
import { malwareBundle } from "../test/support/SampleBundles.js"
import { makeS3Client, startS3Server } from "../test/support/S3Server.js"

/**
 * Files per second of the S3 import as users run it: the built CLI (`node dist/main.js s3-import`,
 * no Node flags, CONNECTOR_RUN_AND_TERMINATE=true; build first) over BENCH_FILES (default 1,000)
 * small bundles on a local s3rver, sending to the OpenCTI stand-in through its API (in a process of its
 * own, as a platform would be), next to a bare AWS SDK list + get + delete loop over the same files in
 * the same run, alternating over BENCH_ROUNDS (default 3) rounds. A third loop, the floor, adds to the
 * raw loop the push of each file to the platform before its delete: the work an importer cannot skip,
 * done file after file with no framework; `cliOfFloor` is the CLI's rate over the floor's.
 *
 * The CLI is timed over two spans: from its spawn to its exit (process start-up included), and from
 * the first GraphQL call the stand-in receives (the connector's registration, once its code is loaded)
 * to its exit. Its peak RSS is the kernel's high-water mark of its process (`VmHWM` in
 * /proc/<pid>/status) and its CPU time user + system (GC threads included), both read every 10 ms while
 * it runs, so the last reading is at most 10 ms before its exit.
 * Run with `npm run bench:s3-import`; prints one JSON object.
 */

const files = Number(process.env["BENCH_FILES"] ?? 1000)
const rounds = Number(process.env["BENCH_ROUNDS"] ?? 3)
const transform = process.env["BENCH_TRANSFORM"] ?? "aci"
const token = "bench-token"

const now = () => performance.timeOrigin + performance.now()

const seed = (client: S3Client, bucket: string) =>
  putObjects(client, bucket, Array.from({ length: files }, (_, index) => ({ key: `ACI_TI/${String(index).padStart(6, "0")}.json`, body: malwareBundle(`Sample malware ${index}`) })), { concurrency: 32 })

/** Lists the bench's prefix page after page and runs `each` on every file, one after another; the number of files. */
const forEachFile = async (client: S3Client, bucket: string, each: (key: string) => Promise<void>): Promise<number> => {
  let continuation: string | undefined
  let count = 0
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "ACI_TI/", ContinuationToken: continuation }))
    for (const entry of page.Contents ?? []) {
      await each(entry.Key ?? "")
      count++
    }
    continuation = page.IsTruncated === true ? page.NextContinuationToken : undefined
  } while (continuation !== undefined)
  return count
}

const getJson = async (client: S3Client, bucket: string, key: string): Promise<unknown> =>
  JSON.parse(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString() ?? "null")

/** The baseline: what any importer must do at least, sequentially, with the same SDK and server. */
const rawLoop = (client: S3Client, bucket: string): Promise<number> =>
  forEachFile(client, bucket, async (key) => {
    await getJson(client, bucket, key)
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
  })

/** A GraphQL call to the stand-in, with the bench's token; fails on any error it answers. */
const graphql = async (url: string, query: string, variables: Record<string, unknown>): Promise<Record<string, unknown>> => {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables })
  })
  const answer = await response.json() as { readonly data?: Record<string, unknown>; readonly errors?: unknown }
  if (answer.errors !== undefined) throw new Error(JSON.stringify(answer.errors))
  return answer.data ?? {}
}

/**
 * The floor: the raw loop plus the push no importer can skip, each file's bundle sent to the platform
 * (`stixBundlePush`, answered before the delete) in one work, with no framework. The cheapest loop that
 * still does the import's work, file after file.
 */
const floorLoop = async (client: S3Client, bucket: string, platformUrl: string): Promise<number> => {
  const connectorId = "3f6b8d0a-2c4e-4a6b-8c0d-e1f2a3b4c5d6"
  await graphql(platformUrl, "mutation ($input: RegisterConnectorInput) { registerConnector(input: $input) { id } }", {
    input: { id: connectorId, name: "floor", type: "EXTERNAL_IMPORT", scope: ["application/json"], auto: false, only_contextual: false }
  })
  const work = await graphql(platformUrl, "mutation ($connectorId: String!) { workAdd(connectorId: $connectorId) { id } }", { connectorId }) as { readonly workAdd: { readonly id: string } }
  return forEachFile(client, bucket, async (key) => {
    const bundle = await getJson(client, bucket, key)
    await graphql(platformUrl, "mutation ($connectorId: String!, $bundle: String!, $workId: String) { stixBundlePush(connectorId: $connectorId, bundle: $bundle, work_id: $workId) }", {
      connectorId,
      bundle: JSON.stringify(bundle),
      workId: work.workAdd.id
    })
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
  })
}

/** Starts the stand-in as a child process: its URL, the time of the first call after now, and a stop function. */
const startStandInProcess = async () => {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("standInProcess.ts", import.meta.url)), token], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  const lines = createInterface({ input: child.stdout })
  const next = () =>
    new Promise<Record<string, number | string>>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the stand-in exited with code ${code}`))
      child.once("exit", onExit)
      lines.once("line", (line) => {
        child.off("exit", onExit)
        resolve(JSON.parse(line))
      })
    })
  const url = String((await next())["url"])
  /** Resolves with when the first GraphQL call after this one arrived (ms since the epoch). */
  const nextCallAt = () => {
    const answer = next()
    child.stdin.write("mark\n")
    return answer.then((line) => Number(line["firstCallAt"]))
  }
  return { url, nextCallAt, stop: () => child.stdin.end() }
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
const cpuSeconds = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? []
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** The peak resident set of a process in MiB, from /proc/<pid>/status. */
const peakRssMiB = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((text) => text.startsWith("VmHWM:"))
  return Number(/(\d+)/.exec(line ?? "")?.[1] ?? 0) / 1024
}

const s3 = await startS3Server()
const openCti = await startStandInProcess()
const client = makeS3Client(s3)

interface CliRun {
  readonly seconds: number
  readonly secondsFromFirstCall: number
  readonly peakRssMiB: number
  readonly cpuSeconds: number
}

/** One CLI pass over `bucket`, as a container runs it. */
const cliPass = async (bucket: string): Promise<CliRun> => {
  const firstCall = openCti.nextCallAt()
  const started = now()
  const run = startConnector("s3-import", {
    OPENCTI_URL: openCti.url,
    OPENCTI_TOKEN: token,
    CONNECTOR_ID: "0c8a7e52-3b9f-4f4e-8d6a-5e2b1c9d7f30",
    CONNECTOR_QUEUE_PROTOCOL: "api",
    CONNECTOR_RUN_AND_TERMINATE: "true",
    S3_ENDPOINT_URL: s3.endpoint,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_REGION: s3.region,
    S3_BUCKET_NAME: bucket,
    S3_BUCKET_PREFIXES: "ACI_TI",
    S3_TRANSFORM: transform
  })
  const pid = run.child.pid ?? 0
  let peak = 0
  let cpu = 0
  const sample = setInterval(() => {
    try {
      peak = Math.max(peak, peakRssMiB(pid))
      cpu = Math.max(cpu, cpuSeconds(pid))
    } catch {
      // The process is gone: the last readings stand.
    }
  }, 10)
  const exit = await run.exited
  const ended = now()
  clearInterval(sample)
  if (exit.code !== 0) throw new Error(`the CLI exited with ${exit.code ?? exit.signal}:\n${run.stderr()}`)
  return { seconds: (ended - started) / 1000, secondsFromFirstCall: (ended - (await firstCall)) / 1000, peakRssMiB: peak, cpuSeconds: cpu }
}

/** Seeds a fresh bucket and runs `pass` over it; every file must be gone after it. */
const onFreshBucket = async <A>(name: string, pass: (bucket: string) => Promise<A>): Promise<A> => {
  await createBucket(client, name)
  await seed(client, name)
  const result = await pass(name)
  // Every file is deleted after its confirmed send: what is gone was imported.
  const left = (await listAllKeys(client, name)).length
  if (left !== 0) throw new Error(`${name}: ${left} of ${files} files left`)
  return result
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
const round2 = (value: number) => Number(value.toFixed(2))

const loadBefore = loadavg()
try {
  const raw: Array<number> = []
  const floor: Array<number> = []
  const cli: Array<CliRun> = []
  const timedLoop = (loop: (bucket: string) => Promise<number>) => async (bucket: string) => {
    const start = now()
    await loop(bucket)
    return files / ((now() - start) / 1000)
  }
  // Alternate them so that a change in the machine's load touches all alike.
  for (let round = 0; round < rounds; round++) {
    raw.push(await onFreshBucket(`raw-${round}`, timedLoop((bucket) => rawLoop(client, bucket))))
    floor.push(await onFreshBucket(`floor-${round}`, timedLoop((bucket) => floorLoop(client, bucket, openCti.url))))
    cli.push(await onFreshBucket(`cli-${round}`, cliPass))
  }
  const rates = (span: (run: CliRun) => number) => cli.map((run) => files / span(run))
  const whole = rates((run) => run.seconds)
  const fromFirstCall = rates((run) => run.secondsFromFirstCall)
  console.log(JSON.stringify({
    machine: { cpus: availableParallelism(), loadAverage1m: { before: round2(loadBefore[0] ?? 0), after: round2(loadavg()[0] ?? 0) } },
    files,
    rounds,
    transform,
    baseline: { name: "SDK list+get+parse+delete loop", filesPerSecond: raw.map(Math.round) },
    cli: {
      name: "node dist/main.js s3-import, api protocol (register, fetch, parse, transform, stixBundlePush, delete, exit)",
      seconds: cli.map((run) => round2(run.seconds)),
      filesPerSecond: whole.map(Math.round),
      secondsFromFirstCall: cli.map((run) => round2(run.secondsFromFirstCall)),
      filesPerSecondFromFirstCall: fromFirstCall.map(Math.round),
      cpuSeconds: cli.map((run) => round2(run.cpuSeconds)),
      peakRssMiB: cli.map((run) => Math.round(run.peakRssMiB))
    },
    ratioPerRound: raw.map((rate, round) => round2((whole[round] ?? 0) / rate)),
    ratioOfMedians: round2(median(whole) / median(raw)),
    fromFirstCall: {
      ratioPerRound: raw.map((rate, round) => round2((fromFirstCall[round] ?? 0) / rate)),
      ratioOfMedians: round2(median(fromFirstCall) / median(raw))
    },
    floor: {
      name: "the raw loop plus stixBundlePush of each file before its delete",
      filesPerSecond: floor.map(Math.round),
      cliOfFloorPerRound: floor.map((rate, round) => round2((whole[round] ?? 0) / rate)),
      cliOfFloor: round2(median(whole) / median(floor))
    },
    goals: { ratio: 1, peakRssMiB: 150 }
  }, null, 2))
} finally {
  client.destroy()
  openCti.stop()
  await s3.close()
}
