import { DeleteObjectCommand } from "@aws-sdk/client-s3"
import { assert, describe, it } from "vitest"
import { readFileSync } from "node:fs"
import { runConnector } from "../support/ConnectorProcess.js"
import { malwareBundle } from "../support/SampleBundles.js"
import { createBucket, getText, listAllKeys, putObjects } from "../support/S3Bucket.js"
import { importerEnv, pushedNames, useImportWorld } from "./importing.js"

const token = "faults-token"
const connectorId = "8d1e4f2a-3b5c-4d6e-9f70-81a2b3c4d5e6"

const world = useImportWorld(token, "faults")

const env = (overrides: Record<string, string> = {}) => importerEnv(world.openCti, world.s3, { token, id: connectorId, bucket: world.bucket }, overrides)

const keys = (prefix: string) => listAllKeys(world.client, world.bucket, { prefix })

const failureOf = (run: Awaited<ReturnType<typeof runConnector>>) => {
  const failure = run.logs.find((line) => line.level === "ERROR")
  assert.isDefined(failure, run.stderr)
  return { message: String(failure?.message), attributes: failure?.attributes ?? {} }
}

interface MalformedCase {
  readonly file: string
  readonly phase: "parse" | "transform"
  readonly reason: string
}

const corpus = new URL("../fixtures/malformed/", import.meta.url)
const malformed = JSON.parse(readFileSync(new URL("index.json", corpus), "utf8")) as ReadonlyArray<MalformedCase>

const padded = (index: number) => String(index).padStart(3, "0")

/**
 * Puts the `cases` in a world.bucket of their own, each after a good file, then runs one pass per case: each
 * stops at its file (exit 1, phase and key logged), having sent and deleted the files before it and
 * left the later ones alone. The file is then taken away, as an operator would, for the next pass.
 */
const stopsAtEach = async (group: number, cases: ReadonlyArray<MalformedCase>) => {
  const groupBucket = `${world.bucket}-corpus-${group}`
  await createBucket(world.client, groupBucket)
  const name = (index: number) => `group-${group}-ok-${index}`
  const good = (index: number) => `ACI_TI/${padded(index)}-0-ok.json`
  const bad = (index: number) => `ACI_TI/${padded(index)}-1-${cases[index]?.file}`
  await putObjects(world.client, groupBucket, [
    ...cases.flatMap((entry, index) => [
      { key: good(index), body: malwareBundle(name(index)) },
      { key: bad(index), body: readFileSync(new URL(entry.file, corpus)) }
    ]),
    { key: good(cases.length), body: malwareBundle(name(cases.length)) }
  ])
  const groupKeys = () => listAllKeys(world.client, groupBucket, { prefix: "ACI_TI/" })
  const sent = () => pushedNames(world.openCti).filter((pushed) => pushed?.startsWith(`group-${group}-`))
  const everyKey = await groupKeys()
  const groupEnv = importerEnv(world.openCti, world.s3, { token, id: connectorId, bucket: groupBucket }, { S3_BUCKET_PREFIXES: "ACI_TI", S3_TRANSFORM: "aci" })

  for (const [index, entry] of cases.entries()) {
    const run = await runConnector("s3-import", groupEnv)
    const key = bad(index)
    assert.strictEqual(run.code, 1, `${entry.file}: ${run.stderr}`)
    const failure = failureOf(run)
    assert.deepInclude(failure.attributes, { phase: entry.phase, bucket: groupBucket, key }, entry.file)
    assert.include(failure.message, `${entry.phase} failed for s3://${groupBucket}/${key}: `, entry.file)
    assert.include(failure.message, entry.reason, entry.file)
    assert.deepStrictEqual(await groupKeys(), everyKey.slice(everyKey.indexOf(key)), entry.file)
    assert.deepStrictEqual(sent(), Array.from({ length: index + 1 }, (_, before) => name(before)), entry.file)
    await world.client.send(new DeleteObjectCommand({ Bucket: groupBucket, Key: key }))
  }
  const last = await runConnector("s3-import", groupEnv)
  assert.strictEqual(last.code, 0, last.stderr)
  assert.deepStrictEqual(await groupKeys(), [])
  assert.strictEqual(sent().length, cases.length + 1)
}

describe("node dist/main.js s3-import on malformed input and faults", () => {
  it("stops at each file of the malformed corpus in turn: exit 1, phase and key logged, the file kept, earlier files sent and deleted, later ones untouched", async () => {
    assert.isAtLeast(malformed.length, 40)
    // Each file needs a pass of its own; the corpus is cut in groups, each in a world.bucket of its own, run side by side.
    const groups = 2
    await Promise.all(Array.from({ length: groups }, (_, group) => stopsAtEach(group, malformed.filter((_, index) => index % groups === group))))
  }, 600_000)

  it("keeps a file rewritten while it was being sent, and sends the new version on the next pass", async () => {
    await putObjects(world.client, world.bucket, [
      { key: "ACI_TI/1.json", body: malwareBundle("one") },
      { key: "ACI_TI/2.json", body: malwareBundle("two") },
      { key: "ACI_TI/3.json", body: malwareBundle("three") }
    ])
    world.openCti.bundlePushes.beforeAnswer = async (accepted) => {
      if (accepted.raw.includes("\"name\":\"two\"")) await putObjects(world.client, world.bucket, [{ key: "ACI_TI/2.json", body: malwareBundle("two, rewritten") }])
    }

    const first = await runConnector("s3-import", env())

    assert.strictEqual(first.code, 0, first.stderr)
    assert.deepStrictEqual(await keys("ACI_TI/"), ["ACI_TI/2.json"])
    const warning = first.logs.find((line) => line.level === "WARNING" && String(line.message).startsWith("File changed since it was read"))
    assert.deepInclude(warning?.attributes ?? {}, { key: "ACI_TI/2.json" }, first.stderr)
    world.openCti.bundlePushes.beforeAnswer = () => Promise.resolve()
    assert.strictEqual((await runConnector("s3-import", env())).code, 0)
    assert.deepStrictEqual(pushedNames(world.openCti), ["one", "two", "three", "two, rewritten"])
    assert.deepStrictEqual(await keys("ACI_TI/"), [])
  })

  it("keeps the file when stixBundlePush is answered null", async () => {
    await putObjects(world.client, world.bucket, [
      { key: "ACI_TI/1.json", body: malwareBundle("one") },
      { key: "ACI_TI/2.json", body: malwareBundle("two") }
    ])
    world.openCti.bundlePushes.failOnCall(2, { kind: "null" })

    const run = await runConnector("s3-import", env())

    assert.strictEqual(run.code, 1, run.stderr)
    const failure = failureOf(run)
    assert.deepInclude(failure.attributes, { phase: "send", key: "ACI_TI/2.json" })
    assert.include(failure.message, "the platform answered null")
    assert.deepStrictEqual(await keys("ACI_TI/"), ["ACI_TI/2.json"])
    assert.strictEqual(world.openCti.works.ofConnector(connectorId)[0]?.toProcessed?.inError, true)
  })

  it("refuses a file over S3_MAX_FILE_BYTES, naming its size and the limit, and keeps it and the later ones", async () => {
    const big = malwareBundle("big").replace("\"is_family\":true", `"is_family":true,"description":"${"x".repeat(5000)}"`)
    await putObjects(world.client, world.bucket, [
      { key: "ACI_TI/1.json", body: malwareBundle("one") },
      { key: "ACI_TI/2.json", body: big },
      { key: "ACI_TI/3.json", body: malwareBundle("three") }
    ])

    const run = await runConnector("s3-import", env({ S3_MAX_FILE_BYTES: "4096" }))

    assert.strictEqual(run.code, 1, run.stderr)
    const failure = failureOf(run)
    assert.deepInclude(failure.attributes, { phase: "fetch", key: "ACI_TI/2.json" })
    assert.include(failure.message, `the file is ${Buffer.byteLength(big)} bytes, over the limit of 4096 bytes (S3_MAX_FILE_BYTES)`)
    assert.deepStrictEqual(await keys("ACI_TI/"), ["ACI_TI/2.json", "ACI_TI/3.json"])
    assert.deepStrictEqual(pushedNames(world.openCti), ["one"])
  })

  it("with S3_QUARANTINE_PREFIX, moves files that fail to parse or transform there with their reports and imports the rest", async () => {
    const nested = readFileSync(new URL("nesting-1001.json", corpus))
    const nameless = readFileSync(new URL("malware-without-name.json", corpus))
    await putObjects(world.client, world.bucket, [
      { key: "ACI_TI/1.json", body: malwareBundle("one") },
      { key: "ACI_TI/2.json", body: nested },
      { key: "ACI_TI/3.json", body: malwareBundle("three") },
      { key: "ACI_Vuln/4.json", body: nameless }
    ])

    const run = await runConnector("s3-import", env({ S3_QUARANTINE_PREFIX: "quarantine/", S3_TRANSFORM: "aci" }))

    assert.strictEqual(run.code, 0, run.stderr)
    assert.deepStrictEqual(pushedNames(world.openCti), ["one", "three"])
    assert.deepStrictEqual(await keys(""), [
      "quarantine/ACI_TI/2.json",
      "quarantine/ACI_TI/2.json.error.json",
      "quarantine/ACI_Vuln/4.json",
      "quarantine/ACI_Vuln/4.json.error.json"
    ])
    assert.strictEqual(await getText(world.client, world.bucket, "quarantine/ACI_TI/2.json"), nested.toString("utf8"))
    const reports = await Promise.all(["ACI_TI/2.json", "ACI_Vuln/4.json"].map(async (key) => JSON.parse(await getText(world.client, world.bucket, `quarantine/${key}.error.json`))))
    assert.deepStrictEqual(reports.map((report) => [report.phase, report.key, report.connector_id, report.bucket]), [
      ["parse", "ACI_TI/2.json", connectorId, world.bucket],
      ["transform", "ACI_Vuln/4.json", connectorId, world.bucket]
    ])
    assert.include(reports[0].reason, "nested deeper than 1000 levels")
    const warnings = run.logs.filter((line) => line.message === "File quarantined").map((line) => line.attributes?.["key"])
    assert.deepStrictEqual(warnings, ["ACI_TI/2.json", "ACI_Vuln/4.json"])
  })

  it("sends numbers with their exact text", async () => {
    const numbers = "\"x_big\":12345678901234567890,\"x_huge\":1e400,\"x_negative_zero\":-0,\"x_float\":1.0"
    await putObjects(world.client, world.bucket, [{ key: "ACI_TI/1.json", body: malwareBundle("one").replace("\"is_family\":true", `"is_family":true,${numbers}`) }])

    const run = await runConnector("s3-import", env({ S3_TRANSFORM: "aci" }))

    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(world.openCti.bundlePushes.bundles[0]?.raw, numbers)
  })

  it("refuses to start with a CONNECTOR_ID that is not a UUID, naming the variable", async () => {
    const run = await runConnector("s3-import", env({ CONNECTOR_ID: "s3-import-1" }))

    assert.strictEqual(run.code, 1)
    assert.include(failureOf(run).message, "CONNECTOR_ID=\"s3-import-1\" is invalid: expected a UUID")
    assert.strictEqual(world.openCti.calls.length, 0)
  })
})
