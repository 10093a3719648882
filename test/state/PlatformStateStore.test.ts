import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, Option } from "effect"
import { TestClock } from "effect/testing"
import { layerRecord } from "../../src/config/ConfigSource.js"
import { OpenCtiConfig } from "../../src/config/OpenCtiConfig.js"
import { Connector } from "../../src/connector/Connector.js"
import * as PlatformStateStore from "../../src/state/PlatformStateStore.js"
import { parseState, StateStore } from "../../src/state/StateStore.js"
import { watchingClock } from "../support/ClockWatch.js"
import { makePlatformStub } from "../support/PlatformStub.js"
import type { PlatformStub } from "../support/PlatformStub.js"

const makeLayer = (fake: PlatformStub, env: Record<string, string> = {}) =>
  PlatformStateStore.layer.pipe(
    Layer.provide(Connector.layer),
    Layer.provide(fake.layer),
    Layer.provide(OpenCtiConfig.layer({ type: "STREAM", name: "test", scope: [] })),
    Layer.provide(layerRecord({ OPENCTI_URL: "http://opencti.test", OPENCTI_TOKEN: "token", CONNECTOR_ID: "c1c1c1c1-0000-4000-8000-000000000001", ...env }))
  )

/** The ping counters of the metric registry in context. */
const counts = Effect.map(Metric.snapshot, (metrics) =>
  Object.fromEntries(metrics.flatMap((metric) =>
    metric.type === "Counter" && (metric.id === "ping_api_total" || metric.id === "ping_api_errors_total") ? [[metric.id, Number(metric.state.count)]] : []
  )))

const pings = (fake: PlatformStub) => fake.calls.flatMap((call) => (call.op === "ping" ? [call.state] : []))

describe("PlatformStateStore", () => {
  // `clock.sleeping()`: the heartbeat has pinged and waits for the clock again.
  it.effect("starts from the state the registration returned, and pings it at once", () => {
    const fake = makePlatformStub()
    fake.connectorState = "{\"start_from\": \"1-0\"}"
    return watchingClock((clock) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        yield* clock.sleeping()
        assert.deepStrictEqual(Option.getOrNull(yield* store.get), { start_from: "1-0" })
        assert.deepStrictEqual(pings(fake), ["{\"start_from\":\"1-0\"}"])
      }).pipe(Effect.provide(makeLayer(fake))))
  })

  it.effect("pushes a new state at once, not on the next heartbeat", () => {
    const fake = makePlatformStub()
    return watchingClock((clock) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        yield* clock.sleeping()
        yield* store.set({ file_count: 3 })
        assert.deepStrictEqual(pings(fake), ["null", "{\"file_count\":3}"])
        assert.strictEqual(fake.connectorState, "{\"file_count\":3}")
      }).pipe(Effect.provide(makeLayer(fake))))
  })

  it.effect("pings the current state every 40 seconds", () => {
    const fake = makePlatformStub()
    return watchingClock((clock) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        yield* clock.sleeping()
        yield* store.set({ n: 1 })
        yield* TestClock.adjust("39 seconds")
        assert.lengthOf(pings(fake), 2)
        yield* TestClock.adjust("1 second")
        yield* clock.sleeping()
        assert.deepStrictEqual(pings(fake), ["null", "{\"n\":1}", "{\"n\":1}"])
      }).pipe(Effect.provide(makeLayer(fake))))
  })

  it.effect("drops the local state when the platform answers a reset", () => {
    const fake = makePlatformStub()
    fake.connectorState = "{\"n\": 1}"
    return watchingClock((clock) =>
      Effect.gen(function*() {
        const store = yield* StateStore
        yield* clock.sleeping()
        fake.nextPingAnswer = ""
        yield* TestClock.adjust("40 seconds")
        yield* clock.sleeping()
        assert.lengthOf(pings(fake), 2)
        assert.isTrue(Option.isNone(yield* store.get))
      }).pipe(Effect.provide(makeLayer(fake))))
  })

  it.effect("has no heartbeat with CONNECTOR_RUN_AND_TERMINATE", () => {
    const fake = makePlatformStub()
    return watchingClock((clock) =>
      Effect.gen(function*() {
        yield* StateStore
        yield* TestClock.adjust("120 seconds")
        assert.strictEqual(clock.pending(), 0)
        assert.deepStrictEqual(pings(fake), [])
      }).pipe(Effect.provide(makeLayer(fake, { CONNECTOR_RUN_AND_TERMINATE: "true" }))))
  })

  it.effect("counts the pings that reach the platform and those that fail, as pycti's ping_api_total and ping_api_errors_total", () => {
    const fake = makePlatformStub()
    fake.failingPings = 2
    return watchingClock((clock) =>
      Effect.gen(function*() {
        yield* StateStore
        yield* clock.sleeping()
        for (let beat = 0; beat < 3; beat++) {
          yield* TestClock.adjust("40 seconds")
          yield* clock.sleeping()
        }
        assert.lengthOf(pings(fake), 4)
        assert.deepStrictEqual(yield* counts, { ping_api_total: 2, ping_api_errors_total: 2 })
      }).pipe(Effect.provide(makeLayer(fake)), Effect.provideService(Metric.MetricRegistry, new Map())))
  })
  it("reads every empty spelling of the platform's state as no state", () => {
    for (const text of [null, "", "null", "{}", "[]", "42", "not json"]) assert.isTrue(Option.isNone(parseState(text)), String(text))
    assert.deepStrictEqual(Option.getOrNull(parseState("{\"a\": 1}")), { a: 1 })
  })
})
