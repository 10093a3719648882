import { Cause, Effect, Layer, Option, Queue, Stream } from "effect"
import { layerRecord } from "../../src/config/ConfigSource.js"
import { OpenCtiConfig } from "../../src/config/OpenCtiConfig.js"
import { LiveStream } from "../../src/opencti/LiveStream.js"
import type { LiveEvent, LivePosition, LiveStreamError } from "../../src/opencti/LiveStream.js"
import { compare } from "../../src/opencti/LiveStreamId.js"
import { OpenCti } from "../../src/opencti/OpenCti.js"
import type { ConnectorState } from "../../src/state/StateStore.js"
import { makeStateStore, StateStore, StateStoreError } from "../../src/state/StateStore.js"
import { ObjectStorage, ObjectStorageError } from "../../src/storage/ObjectStorage.js"
import type { MemoryBuckets, StoredObject } from "../../src/storage/ObjectStorage.js"
import { StreamExportConfig } from "../../src/stream-export/StreamExportConfig.js"
import { StreamExporter } from "../../src/stream-export/StreamExporter.js"
import { makeLevel } from "../support/Level.js"
import { OPENCTI_EXTENSION } from "../support/opencti/streamEvents.js"

/** An exporter over memory storage, a memory state, a scripted live stream and a platform serving files, driven by the TestClock. */
export const baseMs = 1_700_000_000_000
export const idOf = (n: number) => `${baseMs + n}-0`

export interface EventOptions {
  readonly event?: string
  readonly padding?: number
  readonly files?: ReadonlyArray<string>
  readonly context?: unknown
  /** The number of the event's object (default `n`): a group sharing one id holds other objects. */
  readonly object?: number
}

export const stixId = (object: number) => `malware--${String(object).padStart(8, "0")}-0000-4000-8000-000000000000`

export const event = (n: number, options: EventOptions = {}): LiveEvent => ({
  id: idOf(n),
  event: options.event ?? "create",
  data: JSON.stringify({
    version: "4",
    type: "create",
    scope: "external",
    message: `creates a Malware \`m${n}\``,
    data: {
      id: stixId(options.object ?? n),
      type: "malware",
      name: `m${n}`,
      description: "x".repeat(options.padding ?? 0),
      extensions: { [OPENCTI_EXTENSION]: { type: "Malware", files: (options.files ?? []).map((name) => ({ name, uri: `/storage/get/import/Malware/${name}`, mime_type: "text/plain" })) } }
    },
    ...(options.context === undefined ? {} : { context: options.context })
  })
})

export const baseEnv = {
  OPENCTI_URL: "http://opencti.test",
  OPENCTI_TOKEN: "token",
  CONNECTOR_ID: "0d4a0c2e-3e0e-4a8e-9d55-1f6b7f6c1b21",
  CONNECTOR_NAME: "Exporter",
  CONNECTOR_LIVE_STREAM_ID: "live",
  MINIO_ENDPOINT: "minio",
  MINIO_BUCKET: "export",
  MINIO_FOLDER: "opencti-stream",
  WRITE_EVERY_SEC: "60"
}

const decoder = new TextDecoder()

export interface WorldOptions {
  readonly env?: Record<string, string>
  readonly state?: ConnectorState
  readonly objects?: Record<string, string>
  /** File contents by storage path, or the HTTP status the platform answers with. */
  readonly files?: Record<string, string | number>
  readonly failPut?: boolean
  /** Saves of the state that succeed before every later one fails. */
  readonly failCommitAfter?: number
  /**
   * The platform's stream: each connection gets the events after its start, then those offered to the
   * queue. Without it, connections read the queue only.
   */
  readonly log?: ReadonlyArray<LiveEvent>
  /** The save of the state (counted from 1) that the platform answers with a reset. */
  readonly resetAtSave?: number
}

export const makeWorld = Effect.fn(function*(options: WorldOptions = {}) {
  const queue = yield* Queue.unbounded<LiveEvent, LiveStreamError | Cause.Done>()
  const stored = new Map<string, StoredObject>(
    Object.entries(options.objects ?? {}).map(([key, body]) => [key, { body: new TextEncoder().encode(body), lastModified: 0, contentType: "application/x-ndjson" }])
  )
  const buckets: MemoryBuckets = options.objects === undefined ? new Map() : new Map([["export", stored]])
  const opened: Array<LivePosition> = []
  const listening = makeLevel()
  const written = makeLevel()
  const live = Layer.succeed(LiveStream, LiveStream.of({
    open: (position) => {
      opened.push(position)
      listening.add()
      const replayed = (options.log ?? []).filter((event) => compare(event.id, position.startFrom) > 0)
      return Stream.concat(Stream.fromIterable(replayed), Stream.fromQueue(queue))
    }
  }))
  const memory = ObjectStorage.layerMemory(buckets)
  const storage = options.failPut === true
    ? Layer.effect(ObjectStorage, Effect.map(ObjectStorage, (inner) => ObjectStorage.of({
      ...inner,
      put: (bucket, key) => Effect.fail(new ObjectStorageError({ operation: "put", bucket, key, message: "SlowDown: the server is unavailable" }))
    }))).pipe(Layer.provide(memory))
    : memory
  const files = options.files ?? {}
  const openCti = OpenCti.layerTest((_request, url) => {
    const content = files[decodeURIComponent(url.pathname.replace(/^\/storage\/get\//, ""))]
    return Effect.succeed(
      content === undefined
        ? new Response("not found", { status: 404 })
        : typeof content === "number"
        ? new Response("", { status: content })
        : new Response(content)
    )
  })
  const config = Layer.mergeAll(OpenCtiConfig.layer({ type: "STREAM", name: "Exporter", scope: ["stream"] }), StreamExportConfig.layer).pipe(
    Layer.provide(layerRecord({ ...baseEnv, ...options.env }))
  )
  let pushes = 0
  const memoryState = yield* makeStateStore(Option.fromUndefinedOr(options.state), (state) =>
    Effect.sync(() => (++pushes === options.resetAtSave ? Option.none() : state)))
  const failAfter = options.failCommitAfter
  let saves = 0
  const stateStore = Layer.succeed(StateStore, StateStore.of({
    ...memoryState.store,
    setSince: (resets, state) =>
      failAfter !== undefined && saves++ >= failAfter
        ? Effect.fail(new StateStoreError({ message: "cannot save the state on the platform: HTTP 502" }))
        // A commit without a decided object, once the stream is open, is the one that follows an object's write.
        : Effect.andThen(memoryState.store.setSince(resets, state), Effect.sync(() => {
          if (listening.value() > 0 && state["pending_object"] === undefined) written.add()
        }))
  }))
  const layer = StreamExporter.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(storage, live, stateStore, openCti)),
    Layer.provideMerge(config)
  )
  const context = yield* Layer.build(layer)
  const state = Effect.flatMap(StateStore, (store) => store.get).pipe(Effect.provide(context))
  return {
    queue,
    opened,
    state,
    /** Waits until the exporter has opened the live stream. */
    listening: listening.reach(1),
    /** Waits until `count` objects have been written and committed. */
    written: written.reach,
    /** The objects of the export bucket, by key, as text. */
    objects: () => new Map([...(buckets.get("export") ?? new Map<string, StoredObject>()).entries()].map(([key, object]) => [key, decoder.decode(object.body)])),
    /** What a reset of the state from the platform's UI does, seen by the next ping. */
    resetRemotely: memoryState.resetRemotely,
    run: Effect.forkChild(Effect.flatMap(StreamExporter, (exporter) => exporter.run).pipe(Effect.provide(context)))
  }
})

/** Lets the forked exporter run until it waits for the clock or for events. */
export const settle = Effect.forEach(Array.from({ length: 200 }), () => Effect.yieldNow, { discard: true })

export const linesOf = (text: string | undefined) => (text ?? "").split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line))
export const idsOf = (text: string | undefined) => linesOf(text).map((line) => line.id)
