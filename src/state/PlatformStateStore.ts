import { Duration, Effect, Layer, Option, Schedule } from "effect"
import { OpenCtiConfig } from "../config/OpenCtiConfig.js"
import { Connector } from "../connector/Connector.js"
import { OpenCti } from "../opencti/OpenCti.js"
import { countPing } from "../ops/HelperMetrics.js"
import { makeStateStore, parseState, StateStore } from "./StateStore.js"
import type { ConnectorState } from "./StateStore.js"

/** pycti pings every 40 s. */
const heartbeat = Duration.seconds(40)

/**
 * The state kept on the platform through `pingConnector`: `set` pushes at once (not on the next
 * heartbeat), and a heartbeat fiber in the layer's scope pings every `heartbeat` with the current state.
 * When the platform answers with another state, someone reset it from the UI: the local state is
 * dropped and the reset counted (see StateStore).
 */
export const layer = Layer.effect(
  StateStore,
  Effect.gen(function*() {
    const config = yield* OpenCtiConfig
    const openCti = yield* OpenCti
    const registration = yield* Connector
    const push = Effect.fn("PlatformStateStore.push")(function*(state: Option.Option<ConnectorState>) {
      return parseState(yield* countPing(openCti.ping(JSON.stringify(Option.getOrNull(state)))))
    })
    const made = yield* makeStateStore(parseState(registration.connectorState), push)

    if (!config.runAndTerminate) {
      yield* made.heartbeat.pipe(
        Effect.catch((error) => Effect.logError("Error pinging the API").pipe(Effect.annotateLogs({ reason: error.message }))),
        Effect.repeat(Schedule.spaced(heartbeat)),
        Effect.forkScoped
      )
    }
    return made.store
  })
)
