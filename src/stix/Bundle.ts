import { Effect, Schema } from "effect"
import { parseUntrusted } from "./untrustedJson.js"

/** A STIX object as it travels through the connectors: two known keys, everything else kept as-is. */
export const StixObject = Schema.StructWithRest(
  Schema.Struct({ id: Schema.String, type: Schema.String }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)
export type StixObject = typeof StixObject.Type

/** A string member of an object, or "" when it is absent or not a string. */
export const stringField = (object: StixObject, key: string): string => {
  const value = object[key]
  return typeof value === "string" ? value : ""
}

/** A STIX 2.1 bundle; `objects` may be absent or `null`, both meaning "nothing to import". */
export const StixBundle = Schema.StructWithRest(
  Schema.Struct({
    type: Schema.Literal("bundle"),
    id: Schema.optional(Schema.String),
    objects: Schema.optional(Schema.NullOr(Schema.Array(StixObject)))
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)
export type StixBundle = typeof StixBundle.Type

export class BundleParseError extends Schema.TaggedError<BundleParseError>()("BundleParseError", {
  message: Schema.String
}) {}

const decodeUtf32 = (bytes: Uint8Array, littleEndian: boolean): string => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const codePoints: Array<number> = []
  for (let offset = 4; offset + 4 <= bytes.byteLength; offset += 4) {
    const codePoint = view.getUint32(offset, littleEndian)
    // Python refuses surrogates in UTF-32; String.fromCodePoint would make lone surrogates of them.
    if (codePoint >= 0xd800 && codePoint <= 0xdfff) throw new TypeError(`a surrogate code point in UTF-32 input at byte ${offset}`)
    codePoints.push(codePoint)
  }
  if ((bytes.byteLength - 4) % 4 !== 0) throw new TypeError("truncated UTF-32 input")
  let text = ""
  for (let start = 0; start < codePoints.length; start += 4096) {
    text += String.fromCodePoint(...codePoints.slice(start, start + 4096))
  }
  return text
}

const startsWith = (bytes: Uint8Array, prefix: ReadonlyArray<number>): boolean =>
  prefix.every((byte, index) => bytes[index] === byte)

/**
 * Bytes to text as Python's `json.loads(bytes)` reads them when a byte-order mark is present:
 * UTF-32 and UTF-16 in either byte order, UTF-8 with or without BOM. Invalid sequences throw.
 */
export const decodeText = (bytes: Uint8Array): string => {
  if (startsWith(bytes, [0xff, 0xfe, 0x00, 0x00])) return decodeUtf32(bytes, true)
  if (startsWith(bytes, [0x00, 0x00, 0xfe, 0xff])) return decodeUtf32(bytes, false)
  if (startsWith(bytes, [0xff, 0xfe])) return new TextDecoder("utf-16le", { fatal: true }).decode(bytes.subarray(2))
  if (startsWith(bytes, [0xfe, 0xff])) return new TextDecoder("utf-16be", { fatal: true }).decode(bytes.subarray(2))
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes)
}

const decodeBundle = Schema.decodeUnknownEffect(StixBundle)

/**
 * Parses the raw bytes of a bundle file; anything that is not a JSON object of type "bundle" fails, and
 * so does JSON this connector does not read safely (see `parseUntrusted`). Numbers keep their exact text.
 */
export const parseBundle = (bytes: Uint8Array): Effect.Effect<StixBundle, BundleParseError> =>
  Effect.try({
    try: () => decodeText(bytes),
    catch: (cause) => new BundleParseError({ message: `not a JSON document: ${String(cause)}` })
  }).pipe(
    Effect.flatMap((text) => Effect.mapError(Effect.fromResult(parseUntrusted(text)), (error) => new BundleParseError({ message: error.message }))),
    Effect.flatMap((json) =>
      decodeBundle(json).pipe(
        Effect.mapError((error) => new BundleParseError({ message: `not a STIX bundle: ${error.message}` }))
      )
    )
  )

/** The objects of a bundle, with an absent or `null` list read as empty. */
export const bundleObjects = (bundle: StixBundle): ReadonlyArray<StixObject> => bundle.objects ?? []
