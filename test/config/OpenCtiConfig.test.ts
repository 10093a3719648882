import { assert, describe, it } from "@effect/vitest"
import { parseCustomHeaders } from "../../src/config/OpenCtiConfig.js"

describe("OPENCTI_CUSTOM_HEADERS", () => {
  it("is read as pycti reads it: pairs on ';', name and value on the first ':', both trimmed, empty pairs ignored", () => {
    assert.deepStrictEqual(parseCustomHeaders(" x-api-key : a:b ;; X-Team:blue;"), { headers: { "x-api-key": "a:b", "X-Team": "blue" }, malformed: [] })
  })

  it("names the position of each malformed pair, never its text: no ':', an empty name, a name or value HTTP cannot carry", () => {
    assert.deepStrictEqual(parseCustomHeaders("secret-token;:value;bad name:v;ok:1;x:line\u0000break"), { headers: { ok: "1" }, malformed: [1, 2, 3, 5] })
  })
})
