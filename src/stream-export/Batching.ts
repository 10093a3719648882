import { Duration, Effect, Schedule, Sink, Stream } from "effect"
import { EventTrail } from "./EventTrail.js"
import type { ExportLine } from "./ExportLine.js"

/** The events of one object: how many, their trail (where a restart resumes, what it must not write again), and the NDJSON body. */
export interface Batch {
  readonly events: number
  readonly trail: EventTrail
  readonly body: Uint8Array
  /** The buffer `body` is the start of, to fill again once the batch is written and committed. */
  readonly buffer: Buffer
}

/**
 * The buffers of batches, filled again once their batch is written and committed. A batch's buffer
 * lives through the write and the commit, long enough to outlive young collections: a new one for
 * every batch (several MB each) would pile up outside the heap until a full collection. A buffer starts
 * as large as the largest one given back, as batches of a stream are alike: it is seldom copied to
 * grow, and the part of it never written is never touched. At most `keep` buffers wait to be filled.
 */
export class BatchBuffers {
  readonly #free: Array<Buffer> = []
  #capacity = 256 * 1024

  constructor(private readonly keep: number) {}

  take(): Buffer {
    // Not zero-filled: only the bytes written are ever read.
    return this.#free.pop() ?? Buffer.allocUnsafe(this.#capacity)
  }

  /** The buffer of a batch written and committed: nothing reads it any more. */
  giveBack(batch: Batch): void {
    this.#capacity = Math.max(this.#capacity, batch.buffer.length)
    if (this.#free.length < this.keep) this.#free.push(batch.buffer)
  }
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

const emptyBatch = (body: Buffer): BatchBuilder => ({ events: 0, trail: new EventTrail(), body, bytes: 0 })

const toBatch = (batch: BatchBuilder): Batch => ({ events: batch.events, trail: batch.trail, body: batch.body.subarray(0, batch.bytes), buffer: batch.body })

/**
 * Groups lines into batches by time, count and bytes. This is `Stream.groupedWithin` (itself
 * `aggregateWithin(Sink.take(n), Schedule.spaced(window))`) with a sink that also weighs the lines, so a
 * batch's memory is bounded whatever the window and whatever the size of the events (inlined files).
 * Like groupedWithin, the window starts with a batch's first event: an idle stream writes nothing.
 */
export const batched = (limits: BatchLimits, buffers: BatchBuffers) => <E, R>(lines: Stream.Stream<ExportLine, E, R>): Stream.Stream<Batch, E, R> =>
  Stream.aggregateWithin(
    lines,
    Sink.reduceWhile(
      // The builder belongs to this one aggregation: filling it in place keeps a batch linear to build.
      () => emptyBatch(buffers.take()),
      (batch) => batch.events < limits.maxEvents && batch.bytes < limits.maxBytes,
      append
    ).pipe(Sink.map(toBatch)),
    Schedule.spaced(limits.window)
  )

/** All the lines of a stream as one batch, whatever their number: an object whose events are already decided. */
export const wholeBatch = <E, R>(lines: Stream.Stream<ExportLine, E, R>, buffers: BatchBuffers): Effect.Effect<Batch, E, R> =>
  Stream.runFold(lines, () => emptyBatch(buffers.take()), append).pipe(Effect.map(toBatch))
