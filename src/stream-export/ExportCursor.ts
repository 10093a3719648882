import { DateTime, Effect, Option, Schema } from "effect"
import type { LivePosition } from "../opencti/LiveStream.js"
import { earlier, LiveStreamId } from "../opencti/LiveStreamId.js"
import type { ConnectorState } from "../state/StateStore.js"
import { EventTrail, maxRunObjects } from "./EventTrail.js"
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
  /**
   * `last_written_objects`: the digests of the objects of the events with id `last_written_msg_id`
   * already written (a restart receives them again, from before their id, and writes them no more).
   */
  readonly lastWrittenObjects: ReadonlyArray<string>
  /** `pending_object`: the object being written, decided before its write. */
  readonly pending: Option.Option<PendingObject>
}

/** Where an object leaves the export: what a restart resumes from once it is written. */
export type Written = Pick<ExportCursor, "startFrom" | "lastWrittenMsgId" | "lastWrittenObjects">

/**
 * An object decided and saved before its write: its number, its key, its size, and the cursor once it
 * is written, whose last event is the object's last. A restart that finds it pending adopts the object
 * found whole, or writes the same key again with the same events: those after the committed cursor up
 * to that one.
 */
export interface PendingObject {
  readonly fileNumber: number
  readonly key: string
  readonly bytes: number
  readonly written: Written
}

/** How a first start (no state yet) positions the stream, as pycti does. */
export interface FirstStart {
  /** `start_from`: `<CONNECTOR_LIVE_STREAM_START_TIMESTAMP>-0`, or the beginning of the stream. */
  readonly startFrom: string
  /** `recover_until`: the configured date, `false` for no recovery, or none for "now". */
  readonly recoverUntil: Option.Option<string | false>
}

const RecoverUntil = Schema.Union([Schema.String, Schema.Literal(false)])
const FileNumber = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))
const Digests = Schema.Array(Schema.String)

const StoredPending = Schema.Struct({
  file_number: FileNumber,
  key: Schema.String,
  bytes: FileNumber,
  start_from: LiveStreamId,
  last_written_msg_id: Schema.NullOr(LiveStreamId),
  last_written_objects: Digests
})

/** The state as the platform holds it; `connectorLastEventId`/`connectorStartTime` are pycti's legacy keys. */
const StoredCursor = Schema.Struct({
  start_from: Schema.optional(LiveStreamId),
  connectorLastEventId: Schema.optional(LiveStreamId),
  recover_until: Schema.optional(RecoverUntil),
  connectorStartTime: Schema.optional(RecoverUntil),
  last_written_msg_id: Schema.optional(Schema.NullOr(LiveStreamId)),
  file_count: Schema.optional(FileNumber),
  last_written_objects: Schema.optional(Digests),
  pending_object: Schema.optional(StoredPending)
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
    fileCount: stored.file_count ?? 0,
    // A state saved before the objects were recorded: the run is written again once, as it was then.
    lastWrittenObjects: stored.last_written_objects ?? [],
    pending: Option.map(Option.fromUndefinedOr(stored.pending_object), (pending) => ({
      fileNumber: pending.file_number,
      key: pending.key,
      bytes: pending.bytes,
      written: { startFrom: pending.start_from, lastWrittenMsgId: Option.fromNullOr(pending.last_written_msg_id), lastWrittenObjects: pending.last_written_objects }
    }))
  } satisfies ExportCursor
})

/** pycti's `date_now_z()`: UTC, whole seconds. */
const nowZ = Effect.map(DateTime.now, (now) => DateTime.formatIso(now).replace(/\.\d{3}Z$/, "Z"))

/**
 * The cursor of a first start: from the configured timestamp (or the beginning), recovering up to now
 * unless configured otherwise; objects are numbered after `fileCount`.
 */
export const firstStart = Effect.fn("ExportCursor.firstStart")(function*(first: FirstStart, fileCount: number) {
  const recoverUntil = Option.isSome(first.recoverUntil) ? first.recoverUntil.value : yield* nowZ
  return { startFrom: first.startFrom, recoverUntil, lastWrittenMsgId: Option.none(), fileCount, lastWrittenObjects: [], pending: Option.none() } satisfies ExportCursor
})

/** The state to persist for a cursor, in the shape pycti's stream exporter uses, plus what writes each event once. */
export const toState = (cursor: ExportCursor): ConnectorState => ({
  start_from: cursor.startFrom,
  recover_until: cursor.recoverUntil,
  ...Option.match(cursor.lastWrittenMsgId, { onNone: () => ({}), onSome: (id) => ({ last_written_msg_id: id }) }),
  file_count: cursor.fileCount,
  ...(cursor.lastWrittenObjects.length === 0 ? {} : { last_written_objects: cursor.lastWrittenObjects }),
  ...Option.match(cursor.pending, {
    onNone: () => ({}),
    onSome: (pending) => ({
      pending_object: {
        file_number: pending.fileNumber,
        key: pending.key,
        bytes: pending.bytes,
        start_from: pending.written.startFrom,
        last_written_msg_id: Option.getOrNull(pending.written.lastWrittenMsgId),
        last_written_objects: pending.written.lastWrittenObjects
      }
    })
  })
})

/** Where the export stands once the events of `trail`, which follow `cursor`, are written. */
export const written = (cursor: ExportCursor, trail: EventTrail): Written => {
  const last = Option.getOrUndefined(cursor.lastWrittenMsgId)
  const sameRun = trail.last === last && last !== undefined
  return {
    startFrom: trail.resumePoint({ resumePoint: cursor.startFrom, last }),
    lastWrittenMsgId: Option.orElse(Option.fromUndefinedOr(trail.last), () => cursor.lastWrittenMsgId),
    // A batch made of one run that goes on from the committed one adds its objects to that run's.
    lastWrittenObjects: sameRun || trail.last === undefined
      ? [...new Set([...cursor.lastWrittenObjects, ...trail.runObjects])].slice(0, maxRunObjects)
      : trail.runObjects
  }
}

/** The cursor with `pending` decided, as it is saved before the write. */
export const withPending = (cursor: ExportCursor, pending: PendingObject): ExportCursor => ({ ...cursor, pending: Option.some(pending) })

/** The cursor once its pending object is written (or found written). */
export const afterPending = (cursor: ExportCursor, pending: PendingObject): ExportCursor => ({
  ...cursor,
  ...pending.written,
  fileCount: pending.fileNumber,
  pending: Option.none()
})

/** The trail of what the cursor has written: the next events are compared with it to be written once. */
export const trailOf = (cursor: Written): EventTrail =>
  EventTrail.after(Option.getOrUndefined(cursor.lastWrittenMsgId), cursor.lastWrittenObjects)

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
