import { Effect, Random } from "effect"

const hex = (byte: number): string => byte.toString(16).padStart(2, "0")

/** The version and variant bits of a version 4 UUID (RFC 9562), set on bytes 6 and 8. */
const versioned = (byte: number, index: number): number => (index === 6 ? (byte & 0x0f) | 0x40 : index === 8 ? (byte & 0x3f) | 0x80 : byte)

/** A version 4 UUID drawn from the Random service: a seeded test (`Random.withSeed`) gets the same ids on every run. */
export const randomUuid: Effect.Effect<string> = Effect.map(
  Effect.forEach(Array.from({ length: 16 }), () => Random.nextIntBetween(0, 255)),
  (bytes) => {
    const text = bytes.map((byte, index) => hex(versioned(byte, index))).join("")
    return `${text.slice(0, 8)}-${text.slice(8, 12)}-${text.slice(12, 16)}-${text.slice(16, 20)}-${text.slice(20)}`
  }
)
