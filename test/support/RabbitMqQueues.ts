import * as amqp from "amqplib"
import type { RabbitMqHandle } from "./RabbitMq.js"

/** Runs `use` on a channel of a short-lived connection of its own. */
const withChannel = async <A>(broker: RabbitMqHandle, use: (channel: amqp.ConfirmChannel) => Promise<A>): Promise<A> => {
  // One `get` per message: without noDelay each would wait on Nagle's algorithm.
  const connection = await amqp.connect(broker.url, { noDelay: true })
  try {
    const channel = await connection.createConfirmChannel()
    const result = await use(channel)
    // Closing the channel first flushes its acks: closing only the connection may overtake them.
    await channel.close()
    return result
  } finally {
    await connection.close()
  }
}

export interface PushQueue {
  readonly exchange: string
  readonly queue: string
  readonly routingKey: string
}

/**
 * What the platform asserts when a connector registers: the durable direct exchange
 * `amqp.worker.exchange` and the connector's queue `push_<id>`, bound with `push_routing_<id>`.
 */
export const declarePushQueue = (broker: RabbitMqHandle, connectorId: string, options: amqp.Options.AssertQueue = {}): Promise<PushQueue> =>
  withChannel(broker, async (channel) => {
    const queue: PushQueue = { exchange: "amqp.worker.exchange", queue: `push_${connectorId}`, routingKey: `push_routing_${connectorId}` }
    await channel.assertExchange(queue.exchange, "direct", { durable: true })
    await channel.assertQueue(queue.queue, { durable: true, ...options })
    await channel.bindQueue(queue.queue, queue.exchange, queue.routingKey)
    return queue
  })

/** Takes (and acknowledges) the messages waiting in `queue`, in order: all of them, or the first `max`. */
export const takeMessages = (broker: RabbitMqHandle, queue: string, max = Number.POSITIVE_INFINITY): Promise<Array<amqp.GetMessage>> =>
  withChannel(broker, async (channel) => {
    const messages: Array<amqp.GetMessage> = []
    while (messages.length < max) {
      const message = await channel.get(queue)
      if (message === false) break
      channel.ack(message)
      messages.push(message)
    }
    return messages
  })

/** Publishes `count` small messages straight to `queue` and waits for the broker's confirms. */
export const fillQueue = (broker: RabbitMqHandle, queue: string, count: number): Promise<void> =>
  withChannel(broker, async (channel) => {
    for (let index = 0; index < count; index++) channel.sendToQueue(queue, Buffer.from(`filler ${index}`))
    await channel.waitForConfirms()
  })


/** How many messages wait in `queue`. */
export const queueDepth = (broker: RabbitMqHandle, queue: string): Promise<number> =>
  withChannel(broker, async (channel) => (await channel.checkQueue(queue)).messageCount)
