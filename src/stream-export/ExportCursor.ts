import { DateTime, Effect, Option, Schema } from "effect"
import type { LivePosition } from "../opencti/LiveStream.js"
import { earlier, LiveStreamId } from "../opencti/LiveStreamId.js"
import type { IdTrail } from "../opencti/LiveStreamId.js"
import type { ConnectorState } from "../state/StateStore.js"
import { StreamExportError } from "./StreamExportError.js"

/** How far the export has gone: what has been written, and where a restart resumes. */
export interface ExportCursor {
  /** `start_from`: a restart resumes after this id, which is never after the last written event. */
  readonly startFrom: string
  /** `recover_until`: frozen at the first start and sent on every connection; `false` for none. */
  readonly recoverUntil: string | false
  /** `last_written_msg_id`: the id of the last event of the last object written. */
  readonly lastWrittenMsgId: Option.Option<string>
  /** `file_count`: the number of the last object written (0 before the first). */
  readonly fileCount: number
}

/** How a first start (no state yet) positions the stream, as pycti does. */
export interface FirstStart {
  /** `start_from`: `<CONNECTOR_LIVE_STREAM_START_TIMESTAMP>-0`, or the beginning of the stream. */
  readonly startFrom: string
  /** `recover_until`: the configured date, `false` for no recovery, or none for "now". */
  readonly recoverUntil: Option.Option<string | false>
}

const RecoverUntil = Schema.Union([Schema.String, Schema.Literal(false)])

/** The state as the platform holds it; `connectorLastEventId`/`connectorStartTime` are pycti's legacy keys. */
const StoredCursor = Schema.Struct({
  start_from: Schema.optional(LiveStreamId),
  connectorLastEventId: Schema.optional(LiveStreamId),
  recover_until: Schema.optional(RecoverUntil),
  connectorStartTime: Schema.optional(RecoverUntil),
  last_written_msg_id: Schema.optional(Schema.NullOr(LiveStreamId)),
  file_count: Schema.optional(Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0))))
})
const decodeStored = Schema.decodeUnknownEffect(StoredCursor)

const stateError = (message: string, cause?: unknown) => new StreamExportError({ phase: "state", message, ...(cause === undefined ? {} : { cause }) })

/**
 * The cursor of an existing state. A state that cannot be read stops the exporter rather than being
 * replaced: starting over would renumber the objects, which the importer refuses.
 */
export const fromState = Effect.fn("ExportCursor.fromState")(function*(state: ConnectorState) {
  const stored = yield* decodeStored(state).pipe(
    Effect.mapError((error) => stateError(`the connector state cannot be read (${error.message}); fix or reset it on the platform`, error))
  )
  const startFrom = stored.start_from ?? stored.connectorLastEventId
  if (startFrom === undefined) {
    return yield* stateError(`the connector state has no start_from: ${JSON.stringify(state)}; fix or reset it on the platform`)
  }
  const lastWrittenMsgId = Option.fromNullishOr(stored.last_written_msg_id)
  return {
    // A state written by the Python exporter moves start_from past events not yet written; never resume after the last written one.
    startFrom: Option.match(lastWrittenMsgId, { onNone: () => startFrom, onSome: (written) => earlier(written, startFrom) }),
    recoverUntil: withoutRecoveryAsFalse(stored.recover_until ?? stored.connectorStartTime ?? false),
    lastWrittenMsgId,
    fileCount: stored.file_count ?? 0
  } satisfies ExportCursor
})

/** pycti's `date_now_z()`: UTC, whole seconds. */
const nowZ = Effect.map(DateTime.now, (now) => DateTime.formatIso(now).replace(/\.\d{3}Z$/, "Z"))

/** The cursor of a first start: from the configured timestamp (or the beginning), recovering up to now unless configured otherwise. */
export const firstStart = Effect.fn("ExportCursor.firstStart")(function*(first: FirstStart) {
  const recoverUntil = Option.isSome(first.recoverUntil) ? first.recoverUntil.value : yield* nowZ
  return { startFrom: first.startFrom, recoverUntil, lastWrittenMsgId: Option.none(), fileCount: 0 } satisfies ExportCursor
})

/** The state to persist for a cursor, in the shape pycti's stream exporter uses. */
export const toState = (cursor: ExportCursor): ConnectorState => ({
  start_from: cursor.startFrom,
  recover_until: cursor.recoverUntil,
  ...Option.match(cursor.lastWrittenMsgId, { onNone: () => ({}), onSome: (id) => ({ last_written_msg_id: id }) }),
  file_count: cursor.fileCount
})

/** The cursor once object `fileNumber`, holding the events of `ids`, is written. */
export const afterObject = (cursor: ExportCursor, fileNumber: number, ids: IdTrail): ExportCursor => ({
  startFrom: ids.resumePoint({ resumePoint: cursor.startFrom, last: Option.getOrUndefined(cursor.lastWrittenMsgId) }),
  recoverUntil: cursor.recoverUntil,
  lastWrittenMsgId: Option.orElse(Option.fromUndefinedOr(ids.last), () => cursor.lastWrittenMsgId),
  fileCount: fileNumber
})

const noRecovery = new Set(["no", "none", "false"])

/** pycti sends no `recover` for `false` and for the strings no, none and false (any case). */
export const disablesRecovery = (recoverUntil: string): boolean => noRecovery.has(recoverUntil.toLowerCase())

/** A stored recover_until that disables recovery the pycti way ("none", "false", ...) read as `false`, once. */
const withoutRecoveryAsFalse = (recoverUntil: string | false): string | false =>
  recoverUntil !== false && disablesRecovery(recoverUntil) ? false : recoverUntil

/** Where the live stream starts for this cursor. */
export const position = (cursor: ExportCursor): LivePosition => ({
  startFrom: cursor.startFrom,
  recoverUntil: cursor.recoverUntil === false ? Option.none() : Option.some(cursor.recoverUntil)
})
