/** A work message or error as the platform stores it. */
export interface WorkMessage {
  readonly timestamp: string
  readonly message: string
  readonly source?: string
}

/** `WorkErrorInput` as sent with `reportExpectation`. */
export interface WorkErrorInput {
  readonly error?: string | null
  readonly source?: string | null
}

/** A work (an import run) and everything connectors reported on it. */
export interface WorkRecord {
  readonly id: string
  readonly connectorId: string
  readonly name: string | null
  readonly createdAt: string
  status: "wait" | "progress" | "complete"
  receivedTime: string | null
  processedTime: string | null
  completedTime: string | null
  expectations: number
  processed: number
  readonly messages: Array<WorkMessage>
  readonly errors: Array<WorkMessage>
  /** Messages given to `toReceived`, in order. */
  readonly receivedMessages: Array<string | null>
  /** The last `toProcessed` call, if any. */
  toProcessed: { readonly message: string | null; readonly inError: boolean } | undefined
  pings: number
  /** Bundles pushed with this work id through `stixBundlePush`, as sent. */
  readonly bundles: Array<string>
}

export class Works {
  private readonly byId = new Map<string, WorkRecord>()
  private counter = 0

  get all(): ReadonlyArray<WorkRecord> {
    return [...this.byId.values()]
  }

  get(id: string): WorkRecord | undefined {
    return this.byId.get(id)
  }

  ofConnector(connectorId: string): ReadonlyArray<WorkRecord> {
    return this.all.filter((work) => work.connectorId === connectorId)
  }

  /** Ids are `work_<n>`, counted from 1 per stand-in. */
  add(connectorId: string, name: string | null): WorkRecord {
    this.counter += 1
    const now = new Date().toISOString()
    const work: WorkRecord = {
      id: `work_${this.counter}`,
      connectorId,
      name,
      createdAt: now,
      status: "progress",
      receivedTime: now,
      processedTime: null,
      completedTime: null,
      expectations: 0,
      processed: 0,
      messages: [],
      errors: [],
      receivedMessages: [],
      toProcessed: undefined,
      pings: 0,
      bundles: []
    }
    this.byId.set(work.id, work)
    return work
  }

  // Unknown work ids are accepted by toReceived / toProcessed / addExpectations on the platform
  // (it only logs a warning), hence the optional chaining below.

  toReceived(id: string, message: string | null): void {
    const work = this.byId.get(id)
    if (work === undefined) return
    work.receivedMessages.push(message)
    work.status = "progress"
    work.receivedTime = new Date().toISOString()
    if (message !== null && message !== "") work.messages.push({ timestamp: work.receivedTime, message })
  }

  toProcessed(id: string, message: string | null, inError: boolean): void {
    const work = this.byId.get(id)
    if (work === undefined) return
    const now = new Date().toISOString()
    work.toProcessed = { message, inError }
    work.processedTime = now
    if (message !== null && message !== "") (inError ? work.errors : work.messages).push({ timestamp: now, message })
    this.completeIfDone(work, now)
  }

  addExpectations(id: string, expectations: number): void {
    const work = this.byId.get(id)
    if (work !== undefined) work.expectations += expectations
  }

  reportExpectation(id: string, error: WorkErrorInput | null): void {
    const work = this.byId.get(id)
    if (work === undefined) return
    const now = new Date().toISOString()
    work.processed += 1
    if (error !== null && work.errors.length < 100) {
      work.errors.push({ timestamp: now, message: error.error ?? "", source: error.source ?? "" })
    }
    this.completeIfDone(work, now)
  }

  /** Returns false for an unknown work (the platform then fails the call). */
  ping(id: string): boolean {
    const work = this.byId.get(id)
    if (work === undefined) return false
    work.pings += 1
    return true
  }

  private completeIfDone(work: WorkRecord, now: string): void {
    if (work.processedTime !== null && work.processed >= work.expectations && work.status !== "complete") {
      work.status = "complete"
      work.completedTime = now
    }
  }
}
