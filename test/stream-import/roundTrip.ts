import type { GetMessage } from "amqplib"
import { Effect } from "effect"
import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { assert } from "vitest"
import type { ConnectorRun } from "../support/ConnectorProcess.js"
import { OPENCTI_EXTENSION, platformEvent } from "../support/opencti/streamEvents.js"
import type { StreamEventInput } from "../support/opencti/streamEvents.js"
import type { OpenCtiStandIn } from "../support/OpenCtiStandIn.js"
import type { RabbitMqHandle } from "../support/RabbitMq.js"
import { takeMessages } from "../support/RabbitMqQueues.js"
import { getText, listAllKeys } from "../support/S3Bucket.js"
import { makeS3Client } from "../support/S3Server.js"
import type { S3ServerHandle } from "../support/S3Server.js"
import { waitFor } from "../support/waiting.js"

export const TOKEN_A = "platform-a-token"
export const TOKEN_B = "platform-b-token"
export const EXPORTER_ID = "1f3a5c7e-9b2d-4e6f-8a1c-3e5f7a9b1d2f"
export const IMPORTER_ID = "2e4b6d8f-0a1c-4e3f-9b5d-7f9a1b3c5d7e"
export const APPLICANT_ID = "4c6e8a0b-2d4f-4a6c-8e0a-2c4e6a8c0e2a"
export const FOLDER = "opencti-stream"

/** The live stream's recover date: the snapshot is older, every live event newer. */
const RECOVER_UNTIL = "2025-01-01T00:00:00.000Z"

const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`

const malware = (n: number, updatedAt: string, files: ReadonlyArray<string> = []) => ({
  id: `malware--${uuid(n)}`,
  spec_version: "2.1",
  type: "malware",
  name: `m${n}`,
  modified: updatedAt,
  extensions: {
    [OPENCTI_EXTENSION]: {
      type: "Malware",
      updated_at: updatedAt,
      is_inferred: false,
      files: files.map((name) => ({ name, uri: `/storage/get/import/Malware/${name}`, version: updatedAt, mime_type: "text/plain", object_marking_refs: [] }))
    }
  }
})

/**
 * Knowledge the exporter recovers first: groups of 1 to 4 objects sharing one `updated_at`, so one
 * event id (`<ms>-0`) per group, as the platform sends them; every seventh object has a file.
 */
export const snapshot = (count: number) =>
  Array.from({ length: count }, (_, index) => {
    const group = Math.floor(index / 3) + (index % 5 === 0 ? 1 : 0)
    return malware(index, new Date(Date.parse("2024-06-01T00:00:00.000Z") + group * 1000).toISOString(), index % 7 === 0 ? [`report-${index}.txt`] : [])
  })

export const snapshotFiles = (count: number): ReadonlyArray<readonly [string, string]> =>
  Array.from({ length: count }, (_, index) => index).filter((index) => index % 7 === 0).map((index) => [`import/Malware/report-${index}.txt`, `report ${index}`])

/** Live events after the recovery: creates and updates, some with a previous standard id. */
export const liveEvents = (from: number, count: number): ReadonlyArray<StreamEventInput> =>
  Array.from({ length: count }, (_, index) => {
    const n = 10_000 + from + index
    return index % 4 === 3
      ? platformEvent("update", malware(n, "2026-01-01T00:00:00.000Z"), { context: { patch: [], reverse_patch: [{ op: "replace", path: "/id", value: `malware--${uuid(n + 1_000_000)}` }] } })
      : platformEvent("create", malware(n, "2026-01-01T00:00:00.000Z"))
  })

/** The exporter's variables: platform A's live stream from the start of 2024 in recover mode, small batches. */
export const exporterEnv = (standIn: OpenCtiStandIn, storage: Record<string, string>, overrides: Record<string, string> = {}) => ({
  OPENCTI_URL: standIn.url,
  OPENCTI_TOKEN: TOKEN_A,
  CONNECTOR_ID: EXPORTER_ID,
  CONNECTOR_LOG_LEVEL: "info",
  CONNECTOR_LIVE_STREAM_ID: "live",
  CONNECTOR_LIVE_STREAM_START_TIMESTAMP: String(Date.parse("2024-01-01T00:00:00.000Z")),
  CONNECTOR_LIVE_STREAM_RECOVER_ISO_DATE: RECOVER_UNTIL,
  MINIO_FOLDER: FOLDER,
  WRITE_EVERY_SEC: "1",
  WRITE_MAX_EVENTS: "13",
  ...storage,
  ...overrides
})

/** The importer's variables: platform B's registration, a cycle every second. */
export const importerEnv = (standIn: OpenCtiStandIn, storage: Record<string, string>, overrides: Record<string, string> = {}) => ({
  OPENCTI_URL: standIn.url,
  OPENCTI_TOKEN: TOKEN_B,
  CONNECTOR_ID: IMPORTER_ID,
  CONNECTOR_LOG_LEVEL: "info",
  CONNECTOR_RUN_EVERY: "1s",
  IMPORT_CONFIRM_WINDOW: "20",
  ...storage,
  ...overrides
})

/** MinIO variables of both connectors for s3rver: the exporter writes `export`, the importer moves to `done`. */
export const s3Storage = (s3: S3ServerHandle) => {
  const { hostname, port } = new URL(s3.endpoint)
  const common = { MINIO_ENDPOINT: hostname, MINIO_PORT: port, MINIO_SECURE: "false", MINIO_ACCESS_KEY: s3.accessKeyId, MINIO_SECRET_KEY: s3.secretAccessKey }
  return {
    exporter: { ...common, MINIO_BUCKET: "export" },
    importer: { ...common, MINIO_SRC_PATH: `export/${FOLDER}`, MINIO_DST_PATH: "done/imported" }
  }
}

/** The lines of every object the importer moved to done, in object number order. */
export const doneLinesS3 = (s3: S3ServerHandle) =>
  Effect.promise(async () => {
    const client = makeS3Client(s3)
    try {
      const keys = await listAllKeys(client, "done").catch(() => [])
      const texts = await Promise.all(byNumber(keys).map((key) => getText(client, "done", key)))
      return texts.flatMap(linesOf)
    } finally {
      client.destroy()
    }
  })

/** The lines of every file the importer moved to the done directory, in object number order. */
export const doneLinesDirectory = (directory: string) =>
  Effect.promise(async () => {
    const names = await readdir(join(directory, FOLDER)).catch(() => [])
    const texts = await Promise.all(byNumber(names).map((name) => readFile(join(directory, FOLDER, name), "utf8")))
    return texts.flatMap(linesOf)
  })

const numberOf = (key: string): number => Number(/_(\d+)\.json$/.exec(key)?.[1] ?? Number.NaN)
const byNumber = (keys: ReadonlyArray<string>) => [...keys].sort((a, b) => numberOf(a) - numberOf(b))
const linesOf = (text: string) => text.split("\n").filter((line) => line !== "")

/** The event a line carries: its stream id and its object (one id can cover a group of objects). */
export const eventOf = (line: string): string => {
  const parsed = JSON.parse(line) as { readonly id: string; readonly data: { readonly id: string } }
  return `${parsed.id} ${parsed.data.id}`
}

/** Platform A's events in the order the exporter must write them: the recovered snapshot, then the live log. */
export const expectedEvents = (standIn: OpenCtiStandIn, snapshotObjects: ReturnType<typeof snapshot>): ReadonlyArray<string> => {
  const recovered = snapshotObjects
    .map((object) => ({ object, ms: Date.parse(object.modified) }))
    .sort((a, b) => a.ms - b.ms)
    .map(({ object, ms }) => `${ms}-0 ${object.id}`)
  const live = Array.from({ length: standIn.stream.log.length }, (_, index) => {
    const event = standIn.stream.log.at(index)
    return `${event.id.ms}-${event.id.seq} ${(JSON.parse(event.data) as { data: { id: string } }).data.id}`
  })
  return [...recovered, ...live]
}

/** The lines of the event messages taken from B's queue, checked against the message format. */
export const decodeEvents = (messages: ReadonlyArray<GetMessage>): ReadonlyArray<string> =>
  messages.map((message) => {
    assert.strictEqual(message.properties.deliveryMode, 2)
    const body = JSON.parse(message.content.toString("utf8")) as Record<string, unknown>
    assert.deepStrictEqual(Object.keys(body), ["type", "synchronized", "update", "previous_standard", "applicant_id", "content"])
    assert.deepStrictEqual([body["type"], body["synchronized"], body["update"], body["applicant_id"]], ["event", false, true, APPLICANT_ID])
    const line = Buffer.from(String(body["content"]), "base64").toString("utf8")
    const previous = (JSON.parse(line) as { previous_standard?: string }).previous_standard ?? null
    assert.strictEqual(body["previous_standard"], previous)
    return line
  })

/** A consumer of B's queue that keeps every message taken. */
export const makeConsumer = (broker: RabbitMqHandle, queue: string) => {
  const taken: Array<GetMessage> = []
  return {
    taken,
    drain: Effect.promise(async () => {
      taken.push(...await takeMessages(broker, queue))
      return taken.length
    })
  }
}

/**
 * Stops a connector with SIGTERM and checks it exits 0. A connector restarted last may have nothing
 * left to do when the test is done waiting: it is stopped once it has logged, not before it has set up
 * its signal handling (Node's default for SIGTERM ends a process without a stop).
 */
export const stop = (run: ConnectorRun) =>
  Effect.promise(async () => {
    await waitFor(() => run.logs().length > 0 || run.child.exitCode !== null, 30_000, "the connector's first log line")
    run.child.kill("SIGTERM")
    const exit = await run.exited
    assert.deepStrictEqual([exit.code, exit.signal], [0, null], run.stderr())
  })

/** Kills a connector with SIGKILL and waits for it to be gone. */
export const kill = (run: ConnectorRun) =>
  Effect.promise(async () => {
    run.child.kill("SIGKILL")
    await run.exited
  })

/** A small seeded generator (mulberry32), so that a failing run can be replayed. */
export const seededRandom = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
