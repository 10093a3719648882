import { DateTime, Effect, Option } from "effect"
import { bundleObjects, type StixBundle, type StixObject } from "../Bundle.js"
import { applyDefaults } from "../ObjectDefaults.js"
import { randomUuid } from "../randomUuid.js"
import type { AciConfig, AciPlatform, GeneratedObjectContext } from "./AciPlatform.js"
import { attachTo, type FileAttachment, originalFileAttachment } from "./attachment.js"
import { creditsOf } from "./credits.js"
import { mapFields, unmappedCustomKeys } from "./fieldMapping.js"
import { rewriteIds } from "./idRewrite.js"
import { lookUpExistingNotes, notesOf } from "./notes.js"
import { filterOutdated } from "./outdated.js"
import { checkRequiredFields } from "./requiredFields.js"
import { type MissingEnd, missingEnd, repairRelationship } from "./relationships.js"

interface ObjectContext {
  readonly generated: GeneratedObjectContext
  readonly attachment: Option.Option<FileAttachment>
  readonly included: ReadonlySet<string>
  readonly noteExists: (abstract: string) => boolean
}

interface ObjectOutcome {
  /** The objects to send, in order: notes and credits first, then the object itself. */
  readonly objects: ReadonlyArray<StixObject>
  readonly unmappedKeys: ReadonlyArray<string>
  /** Set when the object is a relationship to an object that is not in the bundle, and is dropped. */
  readonly missingEnd: Option.Option<MissingEnd>
}

/** One input object: attachment, defaults, field mapping and relationship repair, plus what it generates. */
const transformObject = (input: StixObject, context: ObjectContext): ObjectOutcome => {
  const attached = input.type === "vulnerability" && Option.isSome(context.attachment)
    ? attachTo(input, context.attachment.value)
    : input
  const object = repairRelationship(mapFields(applyDefaults(attached, context.generated)))
  const generated = [...notesOf(input, context.noteExists, context.generated), ...creditsOf(input, context.generated)]
  const missing = missingEnd(object, context.included)
  return {
    objects: Option.isSome(missing) ? generated : [...generated, object],
    unmappedKeys: unmappedCustomKeys(input),
    missingEnd: missing
  }
}

const logOutcome = Effect.fnUntraced(function*(input: StixObject, outcome: ObjectOutcome) {
  for (const key of outcome.unmappedKeys) {
    yield* Effect.logError(`Found non-mapped custom key: ${key}`).pipe(
      Effect.annotateLogs({ stixId: input.id, customKey: key })
    )
  }
  if (Option.isSome(outcome.missingEnd)) {
    const { direction, ref } = outcome.missingEnd.value
    yield* Effect.logWarning(`Removing relationship ${direction} ${ref} because object is not in bundle`).pipe(
      Effect.annotateLogs({ stixId: input.id })
    )
  }
})

/**
 * The ACI profile of the S3 import (the reference connector's `fix_bundle`): drops vulnerabilities
 * the platform has in a later version, maps the ACI custom fields, adds notes and credits, repairs
 * relationships, gives deduplicated objects their standard ids and follows them in every reference.
 * Answers none when nothing is left to send. Fails only for a bundle whose objects lack a field the
 * transformation needs; platform look-up failures are logged and lived with.
 */
export const transformAci = Effect.fn("transformAci")(
  function*(bundle: StixBundle, config: AciConfig, platform: AciPlatform<unknown>) {
    const input = bundleObjects(bundle)
    if (input.length === 0) {
      yield* Effect.logWarning("Bundle has no objects to process")
      return Option.none<StixBundle>()
    }
    yield* checkRequiredFields(input, config.attachOriginalFile)
    const current = yield* filterOutdated(input, platform)
    if (current.length === 0) {
      yield* Effect.logInfo("All objects were filtered out during pre-processing, nothing to ingest")
      return Option.none<StixBundle>()
    }
    const context: ObjectContext = {
      generated: {
        marking: config.marking,
        authorId: config.authorId,
        now: DateTime.formatIso(yield* DateTime.now)
      },
      // The whole file in base64: made only when some vulnerability is there to carry it.
      attachment: config.attachOriginalFile && current.some((object) => object.type === "vulnerability")
        ? Option.some(originalFileAttachment(config.source))
        : Option.none(),
      included: new Set(current.map((object) => object.id)),
      noteExists: yield* lookUpExistingNotes(current, platform)
    }
    const output: Array<StixObject> = []
    for (const object of current) {
      const outcome = transformObject(object, context)
      if (outcome.unmappedKeys.length > 0 || Option.isSome(outcome.missingEnd)) yield* logOutcome(object, outcome)
      output.push(...outcome.objects)
    }
    if (output.length === 0) {
      yield* Effect.logInfo("Every relationship pointed outside the bundle, nothing to ingest")
      return Option.none<StixBundle>()
    }
    const bundleId = `bundle--${yield* randomUuid}`
    return Option.some<StixBundle>({ type: "bundle", id: bundleId, spec_version: "2.1", objects: rewriteIds(output) })
  },
  (effect, _bundle, config) => Effect.annotateLogs(effect, { key: config.source.key })
)
