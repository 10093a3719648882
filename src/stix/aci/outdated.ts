import { Effect, Option, Predicate, Result } from "effect"
import { stringField } from "../Bundle.js"
import type { StixObject } from "../Bundle.js"
import { isPythonTruthy } from "../python.js"
import { vulnerabilityId } from "../StixId.js"
import { type AciPlatform, describeError } from "./AciPlatform.js"
import { fromIsoFormat, isLater } from "./pythonDatetime.js"

interface Candidate {
  readonly object: StixObject
  readonly name: string
  readonly modified: unknown
  readonly standardId: string
}

/** `platform > received` after Python's `replace("Z", "+00:00")` and `fromisoformat` of both sides. */
const isOutdated = (platformModified: string, modified: unknown): Result.Result<boolean, string> => {
  if (!Predicate.isString(modified)) return Result.fail(`'modified' is not a string: ${JSON.stringify(modified)}`)
  return Result.all([
    fromIsoFormat(platformModified.replaceAll("Z", "+00:00")),
    fromIsoFormat(modified.replaceAll("Z", "+00:00"))
  ]).pipe(Result.flatMap(([platform, received]) => isLater(platform, received)))
}

const log = {
  start: (vulnerabilities: number, objects: number) =>
    `[PRE-PROCESS] Starting outdated vulnerability check: ${vulnerabilities} vulnerability(ies) in bundle ` +
    `(${objects} total objects)`,
  unchecked: (name: string) =>
    `[PRE-PROCESS] Vulnerability '${name}' has no name or no 'modified' field, skipping outdated check, ` +
    "will be ingested",
  lookUpFailed: (count: number, error: unknown) =>
    `[PRE-PROCESS] failed to check ${count} vulnerability(ies) against platform: ${describeError(error)} ` +
    "-> KEPT, will proceed with ingestion",
  unknown: (name: string) =>
    `[PRE-PROCESS] '${name}': unknown to the platform or without x_opencti_modified_at -> KEPT, will be ingested`,
  incomparable: (name: string, reason: string) =>
    `[PRE-PROCESS] '${name}': failed to check against platform: ${reason} -> KEPT, will proceed with ingestion`,
  verdict: (name: string, platformModified: string, modified: unknown, outdated: boolean) =>
    `[PRE-PROCESS] '${name}': platform_x_opencti_modified_at='${platformModified}', ` +
    `received_modified='${String(modified)}', is_outdated=${outdated ? "True -> FILTERED OUT" : "False -> KEPT"}`,
  noneOutdated: (vulnerabilities: number) =>
    `[PRE-PROCESS] Complete: no outdated vulnerabilities found, all ${vulnerabilities} vulnerability(ies) ` +
    "will be ingested",
  removedVulnerability: (object: StixObject) =>
    `[PRE-PROCESS] Removing vulnerability: '${String(object["name"])}' (id=${object.id})`,
  removedRelationship: (object: StixObject) =>
    `[PRE-PROCESS] Removing relationship: type='${String(object["relationship_type"])}', ` +
    `source=${String(object["source_ref"])}, target=${String(object["target_ref"])}, id=${object.id}`,
  complete: (outdated: number, vulnerabilities: number, relationships: number, kept: number, objects: number) =>
    `[PRE-PROCESS] Complete: ${outdated} vulnerability(ies) filtered out, ${vulnerabilities - outdated} ` +
    `vulnerability(ies) kept, ${relationships} relationship(s) removed, ${kept}/${objects} objects remaining in bundle`
}

/** The ids of the outdated candidates, from one platform round trip; none at all when it fails. */
const outdatedIds = Effect.fnUntraced(function*(candidates: ReadonlyArray<Candidate>, platform: AciPlatform<unknown>) {
  const outdated = new Set<string>()
  const standardIds = [...new Set(candidates.map((candidate) => candidate.standardId))]
  const answers = yield* platform.vulnerabilitiesModifiedAt(standardIds).pipe(
    Effect.map(Option.some),
    Effect.catch((error) =>
      Effect.logWarning(log.lookUpFailed(candidates.length, error)).pipe(Effect.as(Option.none()))
    )
  )
  if (Option.isNone(answers)) return outdated
  for (const { modified, name, object, standardId } of candidates) {
    const annotate = Effect.annotateLogs({ stixId: object.id, standardId })
    const platformModified = answers.value.get(standardId) ?? null
    if (platformModified === null || platformModified === "") {
      yield* annotate(Effect.logInfo(log.unknown(name)))
      continue
    }
    const verdict = isOutdated(platformModified, modified)
    if (Result.isFailure(verdict)) {
      yield* annotate(Effect.logWarning(log.incomparable(name, verdict.failure)))
      continue
    }
    yield* annotate(Effect.logInfo(log.verdict(name, platformModified, modified, verdict.success)))
    if (verdict.success) outdated.add(object.id)
  }
  return outdated
})

const isRelationshipTo = (object: StixObject, ids: ReadonlySet<string>): boolean => {
  const source = object["source_ref"]
  const target = object["target_ref"]
  return object.type === "relationship" &&
    ((Predicate.isString(source) && ids.has(source)) || (Predicate.isString(target) && ids.has(target)))
}

/**
 * Drops the vulnerabilities the platform already has in a later version (strictly later
 * `x_opencti_modified_at`), with every relationship from or to them, in one platform round trip.
 * A vulnerability without name or `modified` is not checked; one that cannot be compared is kept.
 */
export const filterOutdated = Effect.fnUntraced(function*(
  objects: ReadonlyArray<StixObject>,
  platform: AciPlatform<unknown>
) {
  const vulnerabilities = objects.filter((object) => object.type === "vulnerability")
  yield* Effect.logInfo(log.start(vulnerabilities.length, objects.length))
  const candidates: Array<Candidate> = []
  for (const object of vulnerabilities) {
    const name = stringField(object, "name")
    if (name === "" || !isPythonTruthy(object["modified"])) {
      yield* Effect.logInfo(log.unchecked(name)).pipe(Effect.annotateLogs({ stixId: object.id }))
    } else {
      candidates.push({ object, name, modified: object["modified"], standardId: vulnerabilityId(name) })
    }
  }
  const outdated = candidates.length === 0 ? new Set<string>() : yield* outdatedIds(candidates, platform)
  if (outdated.size === 0) {
    yield* Effect.logInfo(log.noneOutdated(vulnerabilities.length))
    return objects
  }
  const kept: Array<StixObject> = []
  let removedRelationships = 0
  for (const object of objects) {
    if (outdated.has(object.id)) {
      yield* Effect.logInfo(log.removedVulnerability(object))
    } else if (isRelationshipTo(object, outdated)) {
      yield* Effect.logInfo(log.removedRelationship(object))
      removedRelationships++
    } else {
      kept.push(object)
    }
  }
  yield* Effect.logInfo(
    log.complete(outdated.size, vulnerabilities.length, removedRelationships, kept.length, objects.length)
  )
  return kept
})
