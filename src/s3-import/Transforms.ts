import { Effect, Layer, Option } from "effect"
import { OpenCti } from "../opencti/OpenCti.js"
import { transformAci } from "../stix/aci/transformAci.js"
import { defaultsOnly } from "../stix/ObjectDefaults.js"
import { BundleTransform, TransformError } from "./BundleTransform.js"
import { S3ImportConfig } from "./S3ImportConfig.js"

/** The author organization (S3_AUTHOR), created on the platform at start-up; its standard id. */
const authorIdentity = Effect.gen(function*() {
  const config = yield* S3ImportConfig
  if (Option.isNone(config.author)) return Option.none<string>()
  const openCti = yield* OpenCti
  const id = yield* openCti.createOrganization(config.author.value)
  yield* Effect.logInfo("Author organization ready").pipe(Effect.annotateLogs({ name: config.author.value, id }))
  return Option.some(id)
})

/** S3_TRANSFORM=none: plain STIX, with only the author, marking and modified defaults. */
const layerNone = Layer.effect(
  BundleTransform,
  Effect.gen(function*() {
    const config = yield* S3ImportConfig
    const defaults = { marking: config.markingId, authorId: yield* authorIdentity }
    return BundleTransform.of({ apply: (bundle) => Effect.succeed(defaultsOnly(bundle, defaults)) })
  })
)

/** S3_TRANSFORM=aci: the ACI feed profile, asking the platform what it already holds. */
const layerAci = Layer.effect(
  BundleTransform,
  Effect.gen(function*() {
    const config = yield* S3ImportConfig
    const openCti = yield* OpenCti
    const authorId = yield* authorIdentity
    return BundleTransform.of({
      apply: (bundle, source) =>
        transformAci(bundle, { marking: config.markingId, authorId, attachOriginalFile: config.attachOriginalFile, source }, openCti).pipe(
          Effect.mapError((error) => new TransformError({ message: error.message, cause: error }))
        )
    })
  })
)

/** The profile S3_TRANSFORM names. */
export const layer = Layer.unwrap(Effect.map(S3ImportConfig, (config) => (config.transform === "aci" ? layerAci : layerNone)))
