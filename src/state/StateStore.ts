import { Context, Effect, Layer, Option, Ref, Schema } from "effect"

export type ConnectorState = Readonly<Record<string, unknown>>

export class StateStoreError extends Schema.TaggedError<StateStoreError>()("StateStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** The connector's state: read once at start, replaced as a whole, persisted when `set` returns. */
export class StateStore extends Context.Service<StateStore, {
  readonly get: Effect.Effect<Option.Option<ConnectorState>>
  readonly set: (state: ConnectorState) => Effect.Effect<void, StateStoreError>
}>()("opencti-connectors/state/StateStore") {
  /** A state held in memory, starting from `initial`. */
  static readonly layerMemory = (initial: Option.Option<ConnectorState> = Option.none()) =>
    Layer.effect(
      StateStore,
      Effect.map(Ref.make(initial), (ref) =>
        StateStore.of({
          get: Ref.get(ref),
          set: (state) => Ref.set(ref, Option.some(state))
        }))
    )
}

const StateJson = Schema.fromJsonString(Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown)))
const decodeState = Schema.decodeUnknownOption(StateJson)

/** The platform's state string as a state: `null`, `""`, `"null"`, `"{}"` and non-objects all mean "no state". */
export const parseState = (text: string | null): Option.Option<ConnectorState> =>
  decodeState(text).pipe(Option.flatMap(Option.fromNullOr), Option.filter((state) => Object.keys(state).length > 0))
