import { assert, describe, it } from "@effect/vitest"
import { decodeText } from "../../src/stix/Bundle.js"

const utf32 = (text: string, littleEndian: boolean, extra: ReadonlyArray<number> = []): Uint8Array => {
  const codePoints = [0xfeff, ...Array.from(text, (char) => char.codePointAt(0) ?? 0), ...extra]
  const view = new DataView(new ArrayBuffer(codePoints.length * 4))
  codePoints.forEach((codePoint, index) => view.setUint32(index * 4, codePoint, littleEndian))
  return new Uint8Array(view.buffer)
}

describe("decodeText", () => {
  it("reads UTF-8 with or without BOM, UTF-16 and UTF-32 in both byte orders", () => {
    const text = `{"type":"bundle","name":"é 😀"}`
    const utf8 = new TextEncoder().encode(text)
    assert.strictEqual(decodeText(utf8), text)
    assert.strictEqual(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8])), text)
    const utf16le = new Uint8Array([0xff, 0xfe, ...Array.from(text).flatMap((char) => Array.from(Buffer.from(char, "utf16le")))])
    assert.strictEqual(decodeText(utf16le), text)
    assert.strictEqual(decodeText(utf32(text, true)), text)
    assert.strictEqual(decodeText(utf32(text, false)), text)
  })

  it("refuses what Python refuses: bad UTF-8, truncated UTF-32, surrogates and values past U+10FFFF in UTF-32", () => {
    assert.throws(() => decodeText(new Uint8Array([0x7b, 0xff, 0x7d])))
    assert.throws(() => decodeText(utf32("{}", true).subarray(0, 10)))
    assert.throws(() => decodeText(utf32("{}", true, [0xd800])), /surrogate/)
    assert.throws(() => decodeText(utf32("{}", false, [0x110000])))
  })
})
