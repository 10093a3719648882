import { Effect, Option, Predicate } from "effect"
import type { ConnectorState } from "../state/StateStore.js"
import { StreamImportError } from "./StreamImportError.js"

/** The object being imported when the state was saved, and its last line confirmed by the broker. */
export interface FileInProgress {
  readonly fileNumber: number
  readonly key: string
  readonly confirmedLine: number
}

/**
 * Where the import stands: upstream's `file_count` (the last object imported whole), and the object
 * under way, saved after each confirmed batch so that a restart resumes after its last confirmed line.
 */
export interface ImportProgress {
  readonly fileCount: number
  readonly inProgress: Option.Option<FileInProgress>
}

const isCount = (value: unknown): value is number => Predicate.isNumber(value) && Number.isSafeInteger(value) && value >= 0

const readInProgress = (value: unknown): Option.Option<FileInProgress> =>
  Predicate.isObject(value) &&
    Predicate.hasProperty(value, "file_number") && isCount(value.file_number) &&
    Predicate.hasProperty(value, "key") && Predicate.isString(value.key) &&
    Predicate.hasProperty(value, "confirmed_line") && isCount(value.confirmed_line)
    ? Option.some({ fileNumber: value.file_number, key: value.key, confirmedLine: value.confirmed_line })
    : Option.none()

/** The progress a state holds; no state is a first start. A `file_count` that is no count stops the import. */
export const fromState = (state: Option.Option<ConnectorState>): Effect.Effect<ImportProgress, StreamImportError> => {
  if (Option.isNone(state)) return Effect.succeed({ fileCount: 0, inProgress: Option.none() })
  const count = state.value["file_count"] ?? 0
  // Upstream may have saved it as text.
  const fileCount = Predicate.isString(count) && /^\d+$/.test(count) ? Number(count) : count
  return isCount(fileCount)
    ? Effect.succeed({ fileCount, inProgress: readInProgress(state.value["in_progress"]) })
    : Effect.fail(new StreamImportError({ phase: "state", message: `the connector state's file_count is ${JSON.stringify(count)}, not a count of objects: reset the state, or set it to the number of the last object imported` }))
}

/** The state of `progress`; keys of other tools in the state are kept. */
export const toState = (current: Option.Option<ConnectorState>, progress: ImportProgress): ConnectorState => {
  const { in_progress: _previous, ...others } = Option.getOrElse(current, (): ConnectorState => ({}))
  return Option.match(progress.inProgress, {
    onNone: () => ({ ...others, file_count: progress.fileCount }),
    onSome: (file) => ({ ...others, file_count: progress.fileCount, in_progress: { file_number: file.fileNumber, key: file.key, confirmed_line: file.confirmedLine } })
  })
}

/** The line after which object `fileNumber` at `key` resumes: its last confirmed line, if the state holds it under way. */
export const resumeAfter = (progress: ImportProgress, fileNumber: number, key: string): number =>
  Option.match(Option.filter(progress.inProgress, (file) => file.fileNumber === fileNumber && file.key === key), {
    onNone: () => 0,
    onSome: (file) => file.confirmedLine
  })
