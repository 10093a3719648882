import { Data, Duration, Effect, Schedule, Schema, Stream } from "effect"
import { HttpClientRequest } from "effect/http"
import type { HttpClientResponse } from "effect/http"
import type { OpenCtiConfigShape } from "../config/OpenCtiConfig.js"
import { OpenCtiError } from "./OpenCtiError.js"
import type { OpenCtiOperation } from "./OpenCtiError.js"
import { describeTransportFailure, platformClient } from "./PlatformHttp.js"

const GraphqlErrors = Schema.Array(Schema.Struct({
  message: Schema.String,
  extensions: Schema.optional(Schema.Struct({ code: Schema.optional(Schema.String) }))
}))

const Envelope = Schema.Struct({
  data: Schema.optional(Schema.NullOr(Schema.Unknown)),
  errors: Schema.optional(GraphqlErrors)
})
const decodeEnvelope = Schema.decodeUnknownEffect(Envelope)

/** Platform codes that a later attempt can clear (locks and transient storage trouble). */
const retryableCodes = new Set(["LOCK_ERROR", "DATABASE_ERROR", "INTERNAL_SERVER_ERROR"])

export interface GraphqlTransport {
  /** Sends one document and decodes `data` with `schema`; GraphQL errors and bad answers fail with OpenCtiError. */
  readonly execute: <A>(
    operation: OpenCtiOperation,
    query: string,
    variables: Record<string, unknown>,
    schema: Schema.ConstraintDecoder<A>
  ) => Effect.Effect<A, OpenCtiError>
  /** GET of a platform path (e.g. `/storage/get/...`) with the same authentication, as bytes. */
  /** A file of the platform, refused (not retried) past `maxBytes`: its size is known only from the platform. */
  readonly download: (path: string, maxBytes: number) => Effect.Effect<Uint8Array, OpenCtiError>
}

/** An attempt past OPENCTI_REQUEST_TIMEOUT_SEC: the platform is stalled, and is not asked again. */
class AttemptTimedOut extends Data.TaggedError("AttemptTimedOut") {}

/** Attempts after the first one, for network errors, 5xx, 429 and the platform's retryable codes. */
const retries = 4

/**
 * POST `{url}/graphql` and GET of platform paths through the platform's client (token, custom headers,
 * TLS and proxy settings). Each attempt, from the request to the end of the answer's body, has
 * OPENCTI_REQUEST_TIMEOUT_SEC; an attempt past it fails the call (a stalled platform is not asked
 * again), other failures that a retry can clear are retried with backoff, a bounded number of times.
 * Redirects are not followed: a 3xx is an answer like any other that is not 200.
 */
export const makeGraphqlTransport = (config: OpenCtiConfigShape) =>
  Effect.gen(function*() {
    const client = yield* platformClient(config)

    /** One exchange: a 200 answer read with `read`, any other status an OpenCtiError, retried as a whole. */
    const exchange = <A>(
      operation: OpenCtiOperation,
      request: HttpClientRequest.HttpClientRequest,
      read: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, OpenCtiError>
    ) =>
      client.execute(request).pipe(
        Effect.mapError((error) => new OpenCtiError({ operation, ...describeTransportFailure(error), cause: error })),
        Effect.flatMap((response) =>
          response.status === 200
            ? read(response)
            : Effect.flatMap(Effect.orElseSucceed(response.text, () => ""), (body) =>
              Effect.fail(new OpenCtiError({
                operation,
                status: response.status,
                retryable: response.status >= 500 || response.status === 429,
                message: `HTTP ${response.status}: ${body.slice(0, 500)}`
              })))
        ),
        // The platform can take long on large bundles; pycti waits 300 s before giving up too.
        Effect.timeoutOrElse({ duration: config.requestTimeout, orElse: () => Effect.fail(new AttemptTimedOut()) }),
        Effect.retry({
          while: (error) => error._tag === "OpenCtiError" && error.retryable,
          schedule: Schedule.exponential("500 millis").pipe(Schedule.jittered),
          times: retries
        }),
        // Transient (a later run may get through), but not asked again now.
        Effect.catchTag("AttemptTimedOut", () =>
          Effect.fail(new OpenCtiError({ operation, retryable: true, message: `no complete answer within ${Duration.format(config.requestTimeout)} (OPENCTI_REQUEST_TIMEOUT_SEC)` })))
      )

    const execute = <A>(operation: OpenCtiOperation, query: string, variables: Record<string, unknown>, schema: Schema.ConstraintDecoder<A>) =>
      exchange(operation, HttpClientRequest.post("/graphql").pipe(HttpClientRequest.bodyJsonUnsafe({ query, variables })), (response) =>
        Effect.mapError(response.json, (error) => new OpenCtiError({ operation, status: 200, retryable: true, message: `unreadable answer: ${error.message}`, cause: error })).pipe(
          Effect.flatMap((body) => Effect.mapError(decodeEnvelope(body), (error) => new OpenCtiError({ operation, status: 200, retryable: false, message: `not a GraphQL answer: ${error.message}`, cause: error }))),
          Effect.flatMap((envelope) => {
            const first = envelope.errors?.[0]
            if (first !== undefined) {
              const code = first.extensions?.code
              return Effect.fail(new OpenCtiError({
                operation,
                status: 200,
                ...(code === undefined ? {} : { code }),
                retryable: code !== undefined && retryableCodes.has(code),
                message: first.message
              }))
            }
            return Schema.decodeUnknownEffect(schema)(envelope.data).pipe(
              Effect.mapError((error) => new OpenCtiError({ operation, status: 200, retryable: false, message: `unexpected answer: ${error.message}`, cause: error }))
            )
          })
        )).pipe(Effect.withSpan(`OpenCti.${operation}`))

    const tooLarge = (path: string, bytes: string, maxBytes: number) =>
      new OpenCtiError({ operation: "download", retryable: false, message: `${path} is ${bytes} bytes, over the limit of ${maxBytes} bytes (EXPORT_MAX_FILE_BYTES)` })

    /** The body, read as it comes and given up once past `maxBytes`, whatever the headers announced. */
    const readBounded = (path: string, response: HttpClientResponse.HttpClientResponse, maxBytes: number) => {
      const announced = Number(response.headers["content-length"])
      if (announced > maxBytes) return Effect.fail(tooLarge(path, String(announced), maxBytes))
      return response.stream.pipe(
        Stream.mapError((error) => new OpenCtiError({ operation: "download", retryable: true, message: error.message, cause: error })),
        Stream.runFoldEffect(() => ({ parts: new Array<Uint8Array>(), bytes: 0 }), (body, part) => {
          body.bytes += part.byteLength
          if (body.bytes > maxBytes) return Effect.fail(tooLarge(path, `more than ${maxBytes}`, maxBytes))
          body.parts.push(part)
          return Effect.succeed(body)
        }),
        Effect.map((body): Uint8Array => Buffer.concat(body.parts, body.bytes))
      )
    }

    const download = (path: string, maxBytes: number) =>
      exchange("download", HttpClientRequest.get(path), (response) => readBounded(path, response, maxBytes)).pipe(
        Effect.withSpan("OpenCti.download", { attributes: { path } })
      )

    return { execute, download } satisfies GraphqlTransport
  })
