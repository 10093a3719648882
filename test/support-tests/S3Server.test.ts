import { PutObjectCommand, S3Client, type S3Client as S3ClientType } from "@aws-sdk/client-s3"
import { assert, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { connect } from "node:net"
import { Readable } from "node:stream"
import { afterAll, beforeAll, describe } from "vitest"
import { createBucket, getBytes, getText, listAllKeys, putObjects } from "../support/S3Bucket.js"
import { makeS3Client, s3ServerScoped, type S3ServerHandle, startS3Server } from "../support/S3Server.js"

const refusesConnections = (endpoint: string): Promise<boolean> =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(endpoint)
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.end()
      resolve(false)
    })
    socket.once("error", () => resolve(true))
  })

describe("S3Server", () => {
  let server: S3ServerHandle
  let client: S3ClientType

  beforeAll(async () => {
    server = await startS3Server()
    client = makeS3Client(server)
    await createBucket(client, "round-trip")
    await createBucket(client, "listing")
  })

  afterAll(async () => {
    client.destroy()
    await server.close()
  })

  it("serves on the loopback address only", () => {
    assert.match(server.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it("stores a Buffer body byte-exact", async () => {
    const bytes = Buffer.concat([randomBytes(1024 * 1024 + 7), Buffer.from([0, 0xff, 0xfe, 0xef, 0xbb, 0xbf])])
    await client.send(new PutObjectCommand({ Bucket: "round-trip", Key: "binary/blob.bin", Body: bytes }))
    assert.isTrue(Buffer.from(await getBytes(client, "round-trip", "binary/blob.bin")).equals(bytes))
  })

  it("stores a streamed body byte-exact", async () => {
    const parts = [randomBytes(300_000), randomBytes(65_536), randomBytes(11)]
    const bytes = Buffer.concat(parts)
    await client.send(
      new PutObjectCommand({
        Bucket: "round-trip",
        Key: "stream/parts.bin",
        Body: Readable.from(parts),
        ContentLength: bytes.length
      })
    )
    assert.isTrue(Buffer.from(await getBytes(client, "round-trip", "stream/parts.bin")).equals(bytes))
  })

  it("round-trips UTF-8 text, including keys with spaces and unicode", async () => {
    const text = "{\"name\":\"Ünïcödé – CVE-2024-3094\"}\n"
    await putObjects(client, "round-trip", [{ key: "text/a file é.json", body: text }])
    assert.strictEqual(await getText(client, "round-trip", "text/a file é.json"), text)
  })

  it("lists more than 1 000 keys through continuation tokens, in key order", async () => {
    const keys = Array.from({ length: 2_345 }, (_, i) => `feed/${String(i).padStart(5, "0")}.json`)
    await putObjects(client, "listing", keys.map((key) => ({ key, body: `{"n":${key.length}}` })), {
      concurrency: 32
    })
    await putObjects(client, "listing", [{ key: "other/outside.json", body: "{}" }])

    assert.deepStrictEqual(await listAllKeys(client, "listing", { prefix: "feed/" }), keys)
    const smallPages = await listAllKeys(client, "listing", { prefix: "feed/000", pageSize: 7 })
    assert.deepStrictEqual(smallPages, keys.slice(0, 100))
    assert.strictEqual((await listAllKeys(client, "listing")).length, keys.length + 1)
  })

  it("stores the aws-chunked framing as data when checksums are left at their default", async () => {
    const defaults = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      forcePathStyle: true
    })
    const bytes = Buffer.from("streamed body ".repeat(200))
    await defaults.send(
      new PutObjectCommand({
        Bucket: "round-trip",
        Key: "quirk.txt",
        Body: Readable.from([bytes]),
        ContentLength: bytes.length
      })
    )
    defaults.destroy()
    const stored = Buffer.from(await getBytes(client, "round-trip", "quirk.txt"))
    assert.isFalse(stored.equals(bytes))
    assert.isAbove(stored.length, bytes.length)
  })
})

it.live("s3ServerScoped stops the process and removes its directory when the scope closes", () =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const server = yield* s3ServerScoped().pipe(Scope.provide(scope))
    const client = makeS3Client(server)
    yield* Effect.promise(() => createBucket(client, "scoped"))
    yield* Effect.promise(() => putObjects(client, "scoped", [{ key: "a", body: "a" }]))
    assert.deepStrictEqual(yield* Effect.promise(() => listAllKeys(client, "scoped")), ["a"])
    client.destroy()

    yield* Scope.close(scope, Exit.void)
    assert.isFalse(existsSync(server.directory))
    assert.isTrue(yield* Effect.promise(() => refusesConnections(server.endpoint)))
  }))
