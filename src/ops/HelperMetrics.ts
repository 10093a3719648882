import { Effect, Metric } from "effect"

/**
 * The metrics pycti's connector helper serves, under its names, for the dashboards built for the
 * Python connectors: the platform pings and the run state. The connectors' own counters (`runs_total`,
 * `bundles_sent_total`, `errors_total`) live next to the connector that counts them.
 */
const pings = Metric.counter("ping_api_total", { description: "Successful pings of the platform (heartbeat and state saves)", incremental: true })
const pingErrors = Metric.counter("ping_api_errors_total", { description: "Failed pings of the platform", incremental: true })
const state = Metric.gauge("state", { description: "The connector's run state: 1 for the current one of idle, running, stopped" })

const runStates = ["idle", "running", "stopped"] as const
type RunState = (typeof runStates)[number]

const stateSeries = runStates.map((name) => [name, Metric.withAttributes(state, { state: name })] as const)

/** Sets the `state` enum as prometheus_client's Enum shows it: one series per state, 1 for the current one. */
const setRunState = (current: RunState): Effect.Effect<void> =>
  Effect.forEach(stateSeries, ([name, series]) => Metric.update(series, name === current ? 1 : 0), { discard: true })

/** Counts a ping of the platform in `ping_api_total` or, when it fails, `ping_api_errors_total`. */
export const countPing = <A, E, R>(ping: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  ping.pipe(
    Effect.tap(() => Metric.update(pings, 1)),
    Effect.tapError(() => Metric.update(pingErrors, 1))
  )

/** The series a scrape shows before anything happened: no ping yet, idle. */
export const initial: Effect.Effect<void> = Effect.all([Metric.update(pings, 0), Metric.update(pingErrors, 0), setRunState("idle")], { discard: true })

/** `effect` as a run: the state is running while it runs, then idle. */
export const asRun = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.ensuring(Effect.andThen(setRunState("running"), effect), setRunState("idle"))

/** `effect` as the connector's whole life: the state is stopped once it ends, however it ends. */
export const untilStopped = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => Effect.ensuring(effect, setRunState("stopped"))
