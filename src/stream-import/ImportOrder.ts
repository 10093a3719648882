import { Result } from "effect"

/** An export object found in the source folder. */
export interface ExportObject {
  readonly key: string
  readonly fileNumber: number
}

/** What one cycle does, in this order. */
export interface ImportPlan {
  /** Objects numbered up to the state's `file_count`: already imported, still to be moved (without sending). */
  readonly imported: ReadonlyArray<ExportObject>
  /** Objects `file_count + 1`, `+ 2`, … with no gap: to import in this order. */
  readonly pending: ReadonlyArray<ExportObject>
}

const objectName = /^stream_(\d+)_(\d+)\.json$/

const byNumber = (a: ExportObject, b: ExportObject): number => a.fileNumber - b.fileNumber || (a.key < b.key ? -1 : 1)

/**
 * The plan for the keys listed under `folder`: only keys directly in it count (sub-folders and folder
 * markers are not the exporter's). A key named otherwise stops the import, or is passed over, as
 * `unknownKeys` says; so do a repeated number and a gap after `fileCount`. The failure names the number
 * expected and what was found.
 */
export const planImport = (
  folder: string,
  fileCount: number,
  keys: ReadonlyArray<string>,
  unknownKeys: "stop" | "ignore"
): Result.Result<ImportPlan, string> => {
  const objects: Array<ExportObject> = []
  for (const key of keys) {
    const name = key.slice(folder.length)
    if (!key.startsWith(folder) || name.includes("/") || name === "") continue
    const match = objectName.exec(name)
    if (match !== null) objects.push({ key, fileNumber: Number(match[2]) })
    else if (unknownKeys === "stop") {
      return Result.fail(`expected object ${fileCount + 1} (${folder}stream_<ms>_${fileCount + 1}.json) next, found ${key}, which is not named stream_<ms>_<n>.json`)
    }
  }
  objects.sort(byNumber)
  const imported: Array<ExportObject> = []
  const pending: Array<ExportObject> = []
  for (const [index, object] of objects.entries()) {
    const previous = objects[index - 1]
    if (previous !== undefined && previous.fileNumber === object.fileNumber) {
      return Result.fail(`object number ${object.fileNumber} appears twice: ${previous.key} and ${object.key}`)
    }
    if (object.fileNumber <= fileCount) {
      imported.push(object)
      continue
    }
    const expected = fileCount + pending.length + 1
    if (object.fileNumber !== expected) {
      return Result.fail(`expected object ${expected} next, found ${object.key} (object ${object.fileNumber}): ${object.fileNumber - expected === 1 ? `object ${expected} is` : `objects ${expected} to ${object.fileNumber - 1} are`} missing`)
    }
    pending.push(object)
  }
  return Result.succeed({ imported, pending })
}
