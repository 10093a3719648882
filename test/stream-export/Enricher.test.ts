import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { layerRecord } from "../../src/config/ConfigSource.js"
import { OpenCtiConfig } from "../../src/config/OpenCtiConfig.js"
import type { LiveEvent } from "../../src/opencti/LiveStream.js"
import { OpenCti } from "../../src/opencti/OpenCti.js"
import { makeEnricher } from "../../src/stream-export/Enricher.js"
import { OPENCTI_EXTENSION } from "../support/opencti/streamEvents.js"

const event: LiveEvent = {
  id: "1700000000001-0",
  event: "create",
  data: JSON.stringify({
    type: "create",
    data: {
      id: "malware--00000000-0000-4000-8000-000000000001",
      type: "malware",
      extensions: { [OPENCTI_EXTENSION]: { files: [{ name: "a.txt", uri: "/storage/get/import/a.txt" }] } }
    }
  })
}

/** An enricher over a platform that answers every file download with `answer`. */
const enricherAnswering = (answer: () => Response) =>
  Effect.gen(function*() {
    const config = OpenCtiConfig.layer({ type: "STREAM", name: "Exporter", scope: ["stream"] }).pipe(
      Layer.provide(layerRecord({ OPENCTI_URL: "http://opencti.test", OPENCTI_TOKEN: "token", CONNECTOR_ID: "0d4a0c2e-3e0e-4a8e-9d55-1f6b7f6c1b21" }))
    )
    const openCti = Context.get(yield* Layer.build(OpenCti.layerTest(() => Effect.sync(answer)).pipe(Layer.provide(config))), OpenCti)
    return makeEnricher(openCti, { concurrency: 1, maxFileBytes: 16 })
  })

const filesOf = (line: { readonly head: string; readonly tail: string }) =>
  JSON.parse(line.head + line.tail).data.extensions[OPENCTI_EXTENSION].files

describe("Enricher", () => {
  it.effect("inlines the content of a file the platform serves", () =>
    Effect.gen(function*() {
      const enrich = yield* enricherAnswering(() => new Response("hello"))
      const [line] = yield* enrich([event])
      assert.deepStrictEqual(filesOf(Option.getOrThrow(Option.fromUndefinedOr(line))).map((file: { data?: string }) => file.data), ["aGVsbG8="])
    }))

  it.effect("exports the event without the content of a file that is gone (404)", () =>
    Effect.gen(function*() {
      const enrich = yield* enricherAnswering(() => new Response("not found", { status: 404 }))
      const [line] = yield* enrich([event])
      const files = filesOf(Option.getOrThrow(Option.fromUndefinedOr(line)))
      assert.deepStrictEqual([files.length, files[0]?.data], [1, undefined])
    }))

  it.effect.each([401, 403, 302, 400])("stops before the event on a %s, instead of exporting it without the file", (status) =>
    Effect.gen(function*() {
      const enrich = yield* enricherAnswering(() => new Response("", { status, headers: status === 302 ? { location: "http://elsewhere.test/a.txt" } : {} }))
      const error = yield* Effect.flip(enrich([event]))
      assert.deepStrictEqual([error._tag, error.phase, error.eventId, error.key], ["StreamExportError", "enrich", event.id, "/storage/get/import/a.txt"])
      assert.include(error.message, `HTTP ${status}`)
    }))

  it.effect("stops before the event on a file larger than EXPORT_MAX_FILE_BYTES", () =>
    Effect.gen(function*() {
      const enrich = yield* enricherAnswering(() => new Response("more than sixteen bytes"))
      const error = yield* Effect.flip(enrich([event]))
      assert.deepStrictEqual([error.phase, error.eventId, error.key], ["enrich", event.id, "/storage/get/import/a.txt"])
      assert.include(error.message, "over the limit of 16 bytes (EXPORT_MAX_FILE_BYTES)")
    }))
})
