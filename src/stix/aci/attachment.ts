import type { StixObject } from "../Bundle.js"
import type { AciSource } from "./AciPlatform.js"

/** An `x_opencti_files` entry: the platform stores it with the object without triggering an import. */
export interface FileAttachment {
  readonly name: string
  readonly data: string
  readonly mime_type: string
  readonly no_trigger_import: boolean
}

/** The original file, named after the last segment of its key. */
export const originalFileAttachment = (source: AciSource): FileAttachment => ({
  name: source.key.split("/").at(-1) ?? source.key,
  data: Buffer.from(source.bytes).toString("base64"),
  mime_type: "application/json",
  no_trigger_import: true
})

/** Appends the attachment to the object's existing files. */
export const attachTo = (object: StixObject, attachment: FileAttachment): StixObject => {
  const files = object["x_opencti_files"]
  return { ...object, x_opencti_files: [...(Array.isArray(files) ? files : []), attachment] }
}
