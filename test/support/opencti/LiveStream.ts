import { type EventLog, isInferred, type StreamEvent, type StreamEventInput } from "./streamEvents.js"
import { compareStreamIds, formatStreamId, parseStreamId, type StreamId } from "./streamIds.js"

const EMPTY: EventLog = {
  length: 0,
  at: (index) => {
    throw new RangeError(`no event at ${index}`)
  }
}

/** The platform's event stream: an initial log plus events appended while the stand-in runs. */
export class LiveStream implements EventLog {
  private readonly appended: Array<StreamEvent> = []
  private readonly listeners = new Set<() => void>()

  private constructor(private readonly base: EventLog, private readonly clock: () => number) {}

  static from(initial: EventLog | ReadonlyArray<StreamEventInput>, clock: () => number): LiveStream {
    if (!Array.isArray(initial)) return new LiveStream(initial as EventLog, clock)
    const stream = new LiveStream(EMPTY, clock)
    stream.append(...initial)
    return stream
  }

  get length(): number {
    return this.base.length + this.appended.length
  }

  at(index: number): StreamEvent {
    if (index < this.base.length) return this.base.at(index)
    const event = this.appended[index - this.base.length]
    if (event === undefined) throw new RangeError(`no event at ${index}`)
    return event
  }

  get first(): StreamEvent | undefined {
    return this.length === 0 ? undefined : this.at(0)
  }

  get last(): StreamEvent | undefined {
    return this.length === 0 ? undefined : this.at(this.length - 1)
  }

  /** Adds events after the last one; missing ids are `<max(now, last ms)>-<next seq>`, like Redis `XADD *`. */
  append(...inputs: ReadonlyArray<StreamEventInput>): ReadonlyArray<StreamEvent> {
    const added = inputs.map((input) => {
      const event: StreamEvent = {
        id: this.nextId(input.id),
        topic: input.event,
        data: JSON.stringify(input.data),
        inferred: isInferred(input.data)
      }
      this.appended.push(event)
      return event
    })
    for (const listener of this.listeners) listener()
    return added
  }

  /** Index of the first event whose id is strictly greater than `id`. */
  indexAfter(id: StreamId): number {
    let low = 0
    let high = this.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if (compareStreamIds(this.at(middle).id, id) <= 0) low = middle + 1
      else high = middle
    }
    return low
  }

  /** Calls `listener` after every append; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private nextId(requested: string | undefined): StreamId {
    const last = this.last?.id
    if (requested !== undefined) {
      const id = parseStreamId(requested)
      if (id === undefined) throw new Error(`invalid stream id ${requested}`)
      // Equal to the last id: a member of its group, as the dependencies the platform sends with their event's id.
      if (last !== undefined && compareStreamIds(id, last) < 0) {
        throw new Error(`stream id ${requested} is before the last id ${formatStreamId(last)}`)
      }
      return id
    }
    const now = this.clock()
    if (last === undefined || now > last.ms) return { ms: now, seq: 0 }
    return { ms: last.ms, seq: last.seq + 1 }
  }
}
