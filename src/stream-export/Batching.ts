import { Duration, Effect, Schedule, Sink, Stream } from "effect"
import { EventTrail } from "./EventTrail.js"
import type { ExportLine } from "./ExportLine.js"

/** The events of one object: how many, their trail (where a restart resumes, what it must not write again), and the NDJSON body. */
export interface Batch {
  readonly events: number
  readonly trail: EventTrail
  readonly body: Uint8Array
}

export interface BatchLimits {
  /** A batch is written this long after its first event arrived (WRITE_EVERY_SEC). */
  readonly window: Duration.Duration
  readonly maxEvents: number
  /** A batch is closed once it holds this many bytes (WRITE_MAX_BYTES): it can pass it by one event. */
  readonly maxBytes: number
}

/**
 * A batch being filled. Each line is encoded into the body as it arrives, so the line's text dies young
 * and the batch holds its bytes in one buffer until the write.
 */
interface BatchBuilder {
  events: number
  readonly trail: EventTrail
  body: Buffer
  bytes: number
}

/** The most UTF-8 bytes one UTF-16 code unit encodes to: a line fits when this many per unit do. */
const maxBytesPerCodeUnit = 3

const append = (batch: BatchBuilder, line: ExportLine): BatchBuilder => {
  const room = (line.head.length + line.tail.length) * maxBytesPerCodeUnit
  if (batch.bytes + room > batch.body.length) {
    // Not zero-filled: only the bytes written are ever read.
    const grown = Buffer.allocUnsafe(Math.max(batch.body.length * 2, batch.bytes + room))
    batch.body.copy(grown, 0, 0, batch.bytes)
    batch.body = grown
  }
  batch.bytes += batch.body.write(line.head, batch.bytes)
  batch.bytes += batch.body.write(line.tail, batch.bytes)
  batch.events += 1
  batch.trail.add(line.id, line.object)
  return batch
}

const emptyBatch = (capacity: number): BatchBuilder => ({ events: 0, trail: new EventTrail(), body: Buffer.allocUnsafe(capacity), bytes: 0 })

const toBatch = (batch: BatchBuilder): Batch => ({ events: batch.events, trail: batch.trail, body: batch.body.subarray(0, batch.bytes) })

/**
 * Groups lines into batches by time, count and bytes. This is `Stream.groupedWithin` (itself
 * `aggregateWithin(Sink.take(n), Schedule.spaced(window))`) with a sink that also weighs the lines, so a
 * batch's memory is bounded whatever the window and whatever the size of the events (inlined files).
 * Like groupedWithin, the window starts with a batch's first event: an idle stream writes nothing.
 */
export const batched = (limits: BatchLimits) => <E, R>(lines: Stream.Stream<ExportLine, E, R>): Stream.Stream<Batch, E, R> =>
  Stream.suspend(() => {
    // A batch starts as large as the one before it grew: batches of a stream are alike, so the body
    // is seldom copied to grow, and the part of it never written is never touched.
    let capacity = 256 * 1024
    return Stream.aggregateWithin(
      lines,
      Sink.reduceWhile(
        // The builder belongs to this one aggregation: filling it in place keeps a batch linear to build.
        () => emptyBatch(capacity),
        (batch) => batch.events < limits.maxEvents && batch.bytes < limits.maxBytes,
        append
      ).pipe(Sink.map((batch) => {
        capacity = batch.body.length
        return toBatch(batch)
      })),
      Schedule.spaced(limits.window)
    )
  })

/** All the lines of a stream as one batch, whatever their number: an object whose events are already decided. */
export const wholeBatch = <E, R>(lines: Stream.Stream<ExportLine, E, R>): Effect.Effect<Batch, E, R> =>
  Stream.runFold(lines, () => emptyBatch(256 * 1024), append).pipe(Effect.map(toBatch))
