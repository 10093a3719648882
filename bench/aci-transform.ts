import { Effect, Logger, Option, Predicate, Schema } from "effect"
import { readFileSync } from "node:fs"
import { performance } from "node:perf_hooks"
import { bundleObjects, parseBundle, type StixBundle } from "../src/stix/Bundle.js"
import type { AciConfig, AciPlatform } from "../src/stix/aci/AciPlatform.js"
import { transformAci } from "../src/stix/aci/transformAci.js"
import { organizationId } from "../src/stix/StixId.js"
import { TlpMarkingId } from "../src/stix/TlpMarking.js"

/**
 * Objects per second of the ACI transformation over the `large-bundle` golden case (363 objects in,
 * 405 out), against a plain JSON round trip and a structuredClone of the same parsed bundle measured
 * in the same run. Run with `npx tsx bench/aci-transform.ts`; BENCH_SECONDS sets each measure's length.
 */

const caseDir = new URL("../test/fixtures/golden/large-bundle/", import.meta.url)
const bytes = readFileSync(new URL("input.json", caseDir))

const CaseSpec = Schema.Struct({
  config: Schema.Struct({ author: Schema.String, file_key: Schema.String }),
  platform: Schema.Struct({
    vulnerability_read: Schema.Record(
      Schema.String,
      Schema.Struct({ standard_id: Schema.String, returns: Schema.Unknown })
    )
  })
})
const spec = Schema.decodeUnknownSync(CaseSpec)(JSON.parse(readFileSync(new URL("case.json", caseDir), "utf8")))

const modifiedAt = new Map(
  Object.values(spec.platform.vulnerability_read).map((read) => [
    read.standard_id,
    Predicate.isObject(read.returns) && Predicate.isString(read.returns["x_opencti_modified_at"])
      ? read.returns["x_opencti_modified_at"]
      : null
  ])
)

const platform: AciPlatform<never> = {
  vulnerabilitiesModifiedAt: (ids) => Effect.succeed(new Map(ids.map((id) => [id, modifiedAt.get(id) ?? null]))),
  existingNoteAbstracts: () => Effect.succeed(new Set())
}

const config: AciConfig = {
  marking: TlpMarkingId["TLP:GREEN"],
  authorId: Option.some(organizationId(spec.config.author)),
  attachOriginalFile: false,
  source: { key: spec.config.file_key, bytes }
}

/** Loggers are removed so that printing does not dominate; log records are still built. */
const transformOnce = (bundle: StixBundle) =>
  transformAci(bundle, config, platform).pipe(Effect.provide(Logger.layer([])), Effect.runSync)

const bundle = Effect.runSync(parseBundle(bytes))
const inputObjects = bundleObjects(bundle).length
const outputObjects = Option.match(transformOnce(bundle), { onNone: () => [], onSome: bundleObjects }).length

/** Runs `task` repeatedly for at least `seconds` after a warm-up; iterations per second. */
const measure = (task: () => unknown, seconds: number): { readonly iterations: number; readonly perSecond: number } => {
  for (let warmUp = 0; warmUp < 50; warmUp++) task()
  let iterations = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < seconds * 1000) {
    for (let batch = 0; batch < 10; batch++) task()
    iterations += 10
    elapsed = performance.now() - start
  }
  return { iterations, perSecond: iterations / (elapsed / 1000) }
}

const seconds = Number(process.env["BENCH_SECONDS"] ?? "3")
const transform = measure(() => transformOnce(bundle), seconds)
const jsonRoundTrip = measure(() => JSON.parse(JSON.stringify(bundle)), seconds)
const clone = measure(() => structuredClone(bundle), seconds)

const perSecond = (iterations: number, objects: number): number => Math.round(iterations * objects)

console.log(JSON.stringify(
  {
    case: "large-bundle",
    inputObjects,
    outputObjects,
    secondsPerMeasure: seconds,
    transform: {
      iterations: transform.iterations,
      bundlesPerSecond: Number(transform.perSecond.toFixed(1)),
      objectsPerSecond: perSecond(transform.perSecond, inputObjects),
      outputObjectsPerSecond: perSecond(transform.perSecond, outputObjects)
    },
    baseline: {
      jsonRoundTrip: {
        iterations: jsonRoundTrip.iterations,
        objectsPerSecond: perSecond(jsonRoundTrip.perSecond, inputObjects)
      },
      structuredClone: { iterations: clone.iterations, objectsPerSecond: perSecond(clone.perSecond, inputObjects) }
    },
    ratio: {
      transformToJsonRoundTrip: Number((transform.perSecond / jsonRoundTrip.perSecond).toFixed(3)),
      transformToStructuredClone: Number((transform.perSecond / clone.perSecond).toFixed(3))
    }
  },
  null,
  2
))
