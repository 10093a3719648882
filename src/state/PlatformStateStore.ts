import { Duration, Effect, Layer, Option, Ref, Schedule, Semaphore } from "effect"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import { Connector } from "../connector/Connector.js"
import { OpenCti } from "../opencti/OpenCti.js"
import { countPing } from "../ops/HelperMetrics.js"
import { parseState, StateStore, StateStoreError } from "./StateStore.js"
import type { ConnectorState } from "./StateStore.js"

const sameState = (a: Option.Option<ConnectorState>, b: Option.Option<ConnectorState>): boolean =>
  JSON.stringify(Option.getOrNull(a)) === JSON.stringify(Option.getOrNull(b))

/** pycti pings every 40 s. */
const heartbeat = Duration.seconds(40)

/**
 * The state kept on the platform through `pingConnector`: `set` pushes at once (not on the next
 * heartbeat), and a heartbeat fiber in the layer's scope pings every `heartbeat` with the current state.
 * When the platform answers with another state, someone reset it from the UI: the local state is dropped.
 */
export const layer = Layer.effect(
  StateStore,
  Effect.gen(function*() {
    const config = yield* OpenCtiConfig
    const openCti = yield* OpenCti
    const registration = yield* Connector
    const state = yield* Ref.make(parseState(registration.connectorState))
    const lock = yield* Semaphore.make(1)

    const push = Effect.fn("PlatformStateStore.push")(function*() {
      const sent = yield* Ref.get(state)
      const answer = yield* countPing(openCti.ping(JSON.stringify(Option.getOrNull(sent))))
      const remote = parseState(answer)
      if (!sameState(sent, remote)) {
        yield* Ref.set(state, Option.none())
        yield* Effect.logInfo("Connector state has been remotely reset")
      }
    }, lock.withPermit)

    if (!config.runAndTerminate) {
      yield* push().pipe(
        Effect.catch((error) => Effect.logError("Error pinging the API").pipe(Effect.annotateLogs({ reason: error.message }))),
        Effect.repeat(Schedule.spaced(heartbeat)),
        Effect.forkScoped
      )
    }

    return StateStore.of({
      get: Ref.get(state),
      set: Effect.fn("PlatformStateStore.set")(function*(next: ConnectorState) {
        yield* Ref.set(state, Option.some(next))
        yield* push().pipe(
          Effect.mapError((error) => new StateStoreError({ message: `cannot save the state on the platform: ${error.message}`, cause: error }))
        )
      })
    })
  })
)
