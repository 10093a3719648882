import { Clock, Context, Duration, Effect, Layer, Option, Ref } from "effect"

interface Activity {
  /** Pieces of work running now. */
  readonly active: number
  /** When a piece of work last started, advanced or ended (epoch milliseconds). */
  readonly lastAdvance: number
}

export interface ProgressShape {
  /** Runs `effect` as work in progress: while any runs, the connector is expected to advance. */
  readonly active: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** The work in progress moved on: a file listed, fetched, sent or deleted, a batch written. */
  readonly advance: Effect.Effect<void>
  /** How long work has been in progress without advancing; none while the connector is idle. */
  readonly stalledFor: Effect.Effect<Option.Option<Duration.Duration>>
}

const make = (activity: Ref.Ref<Activity>): ProgressShape => {
  const update = (step: number) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(activity, (current) => ({ active: current.active + step, lastAdvance: now })))
  return {
    active: (effect) => Effect.acquireUseRelease(update(1), () => effect, () => update(-1)),
    advance: update(0),
    stalledFor: Effect.gen(function*() {
      const current = yield* Ref.get(activity)
      if (current.active === 0) return Option.none()
      return Option.some(Duration.millis(Math.max(0, (yield* Clock.currentTimeMillis) - current.lastAdvance)))
    })
  }
}

const initial: Activity = { active: 0, lastAdvance: 0 }

/**
 * The progress of the connector's work, which `/readyz` reads to tell a stalled connector from a
 * working one. One record per process by default: the connector writes it, the operations server reads it.
 */
export class Progress extends Context.Reference<ProgressShape>("opencti-connectors/ops/Progress", {
  defaultValue: () => make(Ref.makeUnsafe(initial))
}) {
  /** A record of its own, for a test. */
  static readonly layerTest = Layer.effect(Progress, Effect.map(Ref.make(initial), make))
}
