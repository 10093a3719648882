import { assert, describe, it } from "@effect/vitest"
import * as amqp from "amqplib"
import { existsSync } from "node:fs"
import { startRabbitMq } from "../support/RabbitMq.js"

const accepts = (url: string): Promise<boolean> =>
  amqp.connect(url, { timeout: 2_000 }).then(
    (connection) => connection.close().then(() => true),
    () => false
  )

describe("RabbitMq (test support)", () => {
  it("runs a private broker on 127.0.0.1 that close stops and removes, even twice", async () => {
    const broker = await startRabbitMq()
    try {
      assert.match(broker.url, /^amqp:\/\/opencti:changeme@127\.0\.0\.1:\d+\/%2F$/)
      assert.isTrue(await accepts(broker.url))
      assert.isTrue(existsSync(broker.directory))
    } finally {
      await broker.close()
    }
    assert.isFalse(await accepts(broker.url))
    assert.isFalse(existsSync(broker.directory))
    await broker.close()
  })
})
