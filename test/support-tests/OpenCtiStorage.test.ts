import { assert, describe, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { TOKEN, withStandIn } from "./standInClient.js"

const FILE_ID = "import/Vulnerability/6f1f3a8e-2f0c-4d3a-9b1e-0a6d1d7c9e21/advisory (1).pdf"

const download = (url: string, fileId: string, token: string | undefined) =>
  fetch(`${url}/storage/get/${fileId.split("/").map(encodeURIComponent).join("/")}`, {
    headers: token === undefined ? {} : { Authorization: `Bearer ${token}` }
  })

describe("OpenCTI stand-in files", () => {
  it("serves registered files byte-exact as attachments, ids with slashes included", () =>
    withStandIn({}, async (standIn) => {
      const bytes = randomBytes(200_000)
      standIn.files.put(FILE_ID, bytes)
      standIn.files.put("export/report.json", "{\"é\":1}")
      const response = await download(standIn.url, FILE_ID, TOKEN)
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers.get("content-disposition"), "attachment; filename=\"advisory (1).pdf\"")
      assert.strictEqual(response.headers.get("content-type"), "application/pdf")
      assert.isTrue(Buffer.from(await response.arrayBuffer()).equals(bytes))
      const json = await download(standIn.url, "export/report.json", TOKEN)
      assert.strictEqual(json.headers.get("content-type"), "application/json; charset=utf-8")
      assert.strictEqual(await json.text(), "{\"é\":1}")
    }))

  it("answers 403 without a valid token and 503 with a JSON error for unknown files, as the platform does", () =>
    withStandIn({}, async (standIn) => {
      standIn.files.put(FILE_ID, "secret")
      for (const token of [undefined, "wrong"]) {
        const refused = await download(standIn.url, FILE_ID, token)
        assert.deepStrictEqual([refused.status, await refused.text()], [403, "Forbidden"])
      }
      const missing = await download(standIn.url, "import/none.json", TOKEN)
      assert.strictEqual(missing.status, 503)
      assert.deepStrictEqual(await missing.json(), { status: "error", error: "File not found or restricted" })
      assert.deepStrictEqual(standIn.files.downloads.map((d) => [d.fileId, d.status]), [
        [FILE_ID, 403],
        [FILE_ID, 403],
        ["import/none.json", 503]
      ])
    }))
})
