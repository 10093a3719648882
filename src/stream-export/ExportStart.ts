import { Effect, Option, Stream } from "effect"
import type { StateStore } from "../state/StateStore.js"
import type { ObjectStorage } from "../storage/ObjectStorage.js"
import type { Committer } from "./Committer.js"
import * as ExportCursor from "./ExportCursor.js"
import { EventTrail } from "./EventTrail.js"
import { checkFolder, highestNumber, objectEvents } from "./ExportObjects.js"
import type { StreamExportConfigShape } from "./StreamExportConfig.js"
import { inPhase, StreamExportError } from "./StreamExportError.js"

/** Where an export starts: its cursor, and the pending object to write again first when it was written and moved away, or never written. */
export interface ExportStart {
  readonly cursor: ExportCursor.ExportCursor
  readonly rewrite: Option.Option<ExportCursor.PendingObject>
}

/**
 * The cursor to start from, with the state read after `resets` resets. The bucket is created if
 * needed. Without a state (a first start, or a reset from the platform), the export starts at the
 * configured first start and numbers its objects after the highest of the folder and after `written`,
 * the last number this process wrote: a number is never given to other events. That position is saved
 * at once (so `recover_until` stays frozen across restarts). With a state, the folder is checked
 * against it: a pending object found there whole is adopted (committed as it is, never rewritten); one
 * not there, or cut short, is written again first; an object no intent accounts for stops the exporter.
 */
export const startCursor = Effect.fn("ExportStart.startCursor")(function*(
  config: StreamExportConfigShape,
  storage: ObjectStorage["Service"],
  state: StateStore["Service"],
  commit: Committer,
  since: { readonly resets: number; readonly written: number }
) {
  const { bucket, folder } = config
  yield* storage.ensureBucket(bucket).pipe(inPhase("bucket", { key: bucket }))
  const stored = yield* state.get
  const listed = yield* Stream.runCollect(storage.list(bucket, folder)).pipe(inPhase("reconcile", { key: `${bucket}/${folder}` }))
  const keys = listed.map((object) => object.key)

  if (Option.isNone(stored)) {
    const highest = highestNumber(folder, keys)
    const cursor = yield* ExportCursor.firstStart(config.firstStart, Math.max(highest, since.written))
    yield* commit(since.resets, cursor)
    yield* Effect.logInfo(cursor.fileCount === 0 ? "First start: no state" : "No state: the export starts over, numbering its objects after the last one written").pipe(
      Effect.annotateLogs({ start_from: cursor.startFrom, recover_until: cursor.recoverUntil, file_count: cursor.fileCount })
    )
    return { cursor, rewrite: Option.none() } satisfies ExportStart
  }

  const initial = yield* ExportCursor.fromState(stored.value)
  const check = checkFolder(folder, initial.fileCount, keys, Option.map(initial.pending, (pending) => pending.key))
  switch (check._tag) {
    case "Inconsistent":
      return yield* new StreamExportError({ phase: "reconcile", key: `${bucket}/${folder}`, message: check.message })
    case "Uncommitted": {
      const body = yield* storage.get(bucket, check.key).pipe(inPhase("reconcile", { key: check.key }))
      const trail = new EventTrail()
      for (const event of yield* objectEvents(check.key, body)) trail.add(event.id, event.object)
      const pending = { fileNumber: check.fileNumber, key: check.key, bytes: body.byteLength, written: ExportCursor.written(initial, trail) }
      return { cursor: yield* adopt(commit, since.resets, initial, pending), rewrite: Option.none() } satisfies ExportStart
    }
    case "Consistent": {
      if (Option.isNone(initial.pending)) return { cursor: initial, rewrite: Option.none() } satisfies ExportStart
      const pending = initial.pending.value
      // Only a whole object is adopted: a write cut short by the stop can leave a shorter one behind.
      const found = listed.find((object) => object.key === pending.key)
      if (found !== undefined && found.size === pending.bytes) {
        return { cursor: yield* adopt(commit, since.resets, initial, pending), rewrite: Option.none() } satisfies ExportStart
      }
      if (found !== undefined) {
        yield* Effect.logWarning("Object decided before a stop found cut short: written again").pipe(
          Effect.annotateLogs({ key: pending.key, bytes: found.size, expected_bytes: pending.bytes })
        )
      }
      return { cursor: initial, rewrite: initial.pending } satisfies ExportStart
    }
  }
})

/** Commits an object written before a stop but not committed, as it is. */
const adopt = (commit: Committer, resets: number, cursor: ExportCursor.ExportCursor, pending: ExportCursor.PendingObject) =>
  Effect.gen(function*() {
    const adopted = ExportCursor.afterPending(cursor, pending)
    yield* commit(resets, adopted)
    yield* Effect.logWarning("Object written before a stop but not committed: committed as it is").pipe(
      Effect.annotateLogs({ key: pending.key, last_written_msg_id: Option.getOrElse(adopted.lastWrittenMsgId, () => "") })
    )
    return adopted
  })
