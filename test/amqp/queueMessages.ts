import type { GetMessage } from "amqplib"
import { Schema } from "effect"
import { assert } from "vitest"

/** The message pycti's `_send_bundle` publishes (pycti-protocol §5.4, `no_split` §5.6). */
const QueueMessage = Schema.Struct({
  bundle_type: Schema.Literal("QUEUE_BUNDLE"),
  applicant_id: Schema.NullOr(Schema.String),
  action_sequence: Schema.Int,
  entities_types: Schema.Tuple([]),
  content: Schema.String.pipe(Schema.check(Schema.isPattern(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/))),
  update: Schema.Literal(false),
  draft_id: Schema.Null,
  work_id: Schema.String,
  no_split: Schema.optionalKey(Schema.Literal(true))
})

const keyOrder = ["bundle_type", "applicant_id", "action_sequence", "entities_types", "content", "update", "draft_id", "work_id"]

export interface DecodedMessage {
  readonly body: typeof QueueMessage.Type
  /** The bundle the base64 `content` carries. */
  readonly bundle: unknown
}

/**
 * Checks a consumed message against the reference format (persistent, utf-8, no content type, the
 * body's keys in pycti's order) and decodes it.
 */
export const decodeMessage = (message: GetMessage): DecodedMessage => {
  assert.strictEqual(message.properties.deliveryMode, 2)
  assert.strictEqual(message.properties.contentEncoding, "utf-8")
  assert.isUndefined(message.properties.contentType)
  const json: object = JSON.parse(message.content.toString("utf8"))
  const body = Schema.decodeUnknownSync(QueueMessage, { onExcessProperty: "error" })(json)
  assert.deepStrictEqual(Object.keys(json), body.no_split === undefined ? keyOrder : [...keyOrder, "no_split"])
  return { body, bundle: JSON.parse(Buffer.from(body.content, "base64").toString("utf8")) }
}
