import { Context, Effect, Layer, Option, Ref, Schema, Semaphore, Stream, SubscriptionRef } from "effect"

export type ConnectorState = Readonly<Record<string, unknown>>

export class StateStoreError extends Schema.TaggedError<StateStoreError>()("StateStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** The platform reset the state (from its UI) after the state being saved was read: it was not saved. */
export class StateStoreReset extends Schema.TaggedError<StateStoreReset>()("StateStoreReset", {
  message: Schema.String
}) {}

/**
 * The connector's state: read once at start, replaced as a whole, persisted when `set` returns.
 *
 * The platform can reset it at any time; each reset it reports is counted. A state derived from what
 * was read after `n` resets is saved with `setSince(n, …)`: once a later reset is known it is refused,
 * so that nothing derived from the state before the reset overwrites the reset.
 */
export class StateStore extends Context.Service<StateStore, {
  readonly get: Effect.Effect<Option.Option<ConnectorState>>
  readonly set: (state: ConnectorState) => Effect.Effect<void, StateStoreError>
  /** How many resets the platform has reported so far. */
  readonly resets: Effect.Effect<number>
  /** Saves `state` unless the platform has reported more than `resets` resets, or reports one in answer to this very save. */
  readonly setSince: (resets: number, state: ConnectorState) => Effect.Effect<void, StateStoreError | StateStoreReset>
  /** Waits until the platform has reported more than `resets` resets. */
  readonly awaitReset: (resets: number) => Effect.Effect<void>
}>()("opencti-connectors/state/StateStore") {
  /** A state held in memory, starting from `initial`. */
  static readonly layerMemory = (initial: Option.Option<ConnectorState> = Option.none()) =>
    Layer.effect(StateStore, Effect.map(makeStateStore(initial, Effect.succeed), (made) => made.store))
}

/**
 * A state store over `push`, which saves a state where it is kept and answers the state kept there
 * afterwards; an answer other than the state pushed is a reset. One push at a time, the state read
 * and replaced under the same permit: a heartbeat that meets a reset cannot drop a state being saved,
 * nor push an old state over a newer one. `resetRemotely` is what a reset met by a push does.
 */
export const makeStateStore = Effect.fnUntraced(function*<E extends { readonly message: string }>(
  initial: Option.Option<ConnectorState>,
  push: (state: Option.Option<ConnectorState>) => Effect.Effect<Option.Option<ConnectorState>, E>
) {
  const state = yield* Ref.make(initial)
  const resets = yield* SubscriptionRef.make(0)
  const lock = yield* Semaphore.make(1)

  const resetRemotely = Effect.andThen(Ref.set(state, Option.none()), SubscriptionRef.update(resets, (count) => count + 1))

  /** Pushes `next`: true when the platform kept it, false when it answered a reset. */
  const pushState = (next: Option.Option<ConnectorState>) =>
    Effect.gen(function*() {
      yield* Ref.set(state, next)
      const answer = yield* push(next)
      if (sameState(next, answer)) return true
      yield* resetRemotely
      yield* Effect.logWarning("Connector state has been remotely reset")
      return false
    })

  const resetsNow = SubscriptionRef.get(resets)
  const store = StateStore.of({
    get: Ref.get(state),
    set: Effect.fn("StateStore.set")(function*(next: ConnectorState) {
      yield* lock.withPermit(pushState(Option.some(next))).pipe(Effect.mapError(storeError))
    }),
    resets: resetsNow,
    setSince: Effect.fn("StateStore.setSince")(function*(since: number, next: ConnectorState) {
      yield* lock.withPermit(Effect.gen(function*() {
        if ((yield* resetsNow) > since) return yield* notSaved
        if (!(yield* pushState(Option.some(next)))) return yield* notSaved
      })).pipe(Effect.mapError((error) => Schema.is(StateStoreReset)(error) ? error : storeError(error)))
    }),
    awaitReset: (since) => SubscriptionRef.changes(resets).pipe(Stream.filter((count) => count > since), Stream.runHead, Effect.asVoid)
  })
  return {
    store,
    /** Pushes the current state again (a heartbeat). */
    heartbeat: lock.withPermit(Effect.flatMap(Ref.get(state), pushState)),
    /** What a reset met by a push does, at once (tests of the memory store). */
    resetRemotely: lock.withPermit(resetRemotely)
  }
})

const notSaved = new StateStoreReset({ message: "the connector state was reset on the platform: the state derived from the one before the reset was not saved" })

const storeError = (error: { readonly message: string }) =>
  new StateStoreError({ message: `cannot save the state on the platform: ${error.message}`, cause: error })

const sameState = (a: Option.Option<ConnectorState>, b: Option.Option<ConnectorState>): boolean =>
  JSON.stringify(Option.getOrNull(a)) === JSON.stringify(Option.getOrNull(b))

const StateJson = Schema.fromJsonString(Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown)))
const decodeState = Schema.decodeUnknownOption(StateJson)

/** The platform's state string as a state: `null`, `""`, `"null"`, `"{}"` and non-objects all mean "no state". */
export const parseState = (text: string | null): Option.Option<ConnectorState> =>
  decodeState(text).pipe(Option.flatMap(Option.fromNullOr), Option.filter((state) => Object.keys(state).length > 0))
