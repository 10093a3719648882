import { Effect, Option, Stream } from "effect"
import { IdTrail } from "../opencti/LiveStreamId.js"
import type { StateStore } from "../state/StateStore.js"
import type { ObjectStorage } from "../storage/ObjectStorage.js"
import type { Committer } from "./Committer.js"
import * as ExportCursor from "./ExportCursor.js"
import { checkFolder, objectIds } from "./ExportObjects.js"
import type { StreamExportConfigShape } from "./StreamExportConfig.js"
import { inPhase, StreamExportError } from "./StreamExportError.js"

/**
 * The cursor to start from. The bucket is created if needed; a first start persists its position at
 * once (so `recover_until` stays frozen across restarts); then the folder is checked against the state:
 * an object written by a run that died before committing it is adopted (committed as it is, never
 * rewritten), and a folder that does not match the state stops the exporter.
 */
export const startCursor = Effect.fn("ExportStart.startCursor")(function*(
  config: StreamExportConfigShape,
  storage: ObjectStorage["Service"],
  state: StateStore["Service"],
  commit: Committer
) {
  const { bucket, folder } = config
  yield* storage.ensureBucket(bucket).pipe(inPhase("bucket", { key: bucket }))
  const stored = yield* state.get
  const initial = Option.isSome(stored) ? yield* ExportCursor.fromState(stored.value) : yield* ExportCursor.firstStart(config.firstStart)
  if (Option.isNone(stored)) {
    yield* commit(initial)
    yield* Effect.logInfo("First start: no state").pipe(Effect.annotateLogs({ start_from: initial.startFrom, recover_until: initial.recoverUntil }))
  }

  const listed = yield* Stream.runCollect(storage.list(bucket, folder)).pipe(inPhase("reconcile", { key: `${bucket}/${folder}` }))
  const check = checkFolder(folder, initial.fileCount, listed.map((object) => object.key))
  switch (check._tag) {
    case "Consistent":
      return initial
    case "Inconsistent":
      return yield* new StreamExportError({ phase: "reconcile", key: `${bucket}/${folder}`, message: check.message })
    case "Uncommitted": {
      const body = yield* storage.get(bucket, check.key).pipe(inPhase("reconcile", { key: check.key }))
      const ids = yield* objectIds(check.key, body)
      const adopted = ExportCursor.afterObject(initial, check.fileNumber, IdTrail.of(ids))
      yield* commit(adopted)
      yield* Effect.logWarning("Object written before a stop but not committed: committed as it is").pipe(
        Effect.annotateLogs({ key: check.key, last_written_msg_id: Option.getOrElse(adopted.lastWrittenMsgId, () => "") })
      )
      return adopted
    }
  }
})
