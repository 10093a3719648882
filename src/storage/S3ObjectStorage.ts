import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client
} from "@aws-sdk/client-s3"
import { Duration, Effect, Layer, Option, Predicate, Redacted, Stream } from "effect"
import { HttpsProxyAgent } from "https-proxy-agent"
import { Agent } from "node:https"
import { getProxyForUrl } from "proxy-from-env"
import { ObjectStorage, ObjectStorageError } from "./ObjectStorage.js"
import type { DeleteOutcome, ObjectInfo, ObjectVersion, S3Options, StorageOperation } from "./ObjectStorage.js"

const describe = (cause: unknown): string => {
  if (Predicate.isError(cause)) {
    const status = Predicate.hasProperty(cause, "$metadata") && Predicate.hasProperty(cause.$metadata, "httpStatusCode")
      ? ` (HTTP ${String(cause.$metadata.httpStatusCode)})`
      : ""
    return `${cause.name}: ${cause.message}${status}`
  }
  return String(cause)
}

const isNotFound = (cause: unknown): boolean =>
  Predicate.isError(cause) &&
  (cause.name === "NotFound" || cause.name === "NoSuchKey" || cause.name === "NoSuchBucket" ||
    (Predicate.hasProperty(cause, "$metadata") && Predicate.hasProperty(cause.$metadata, "httpStatusCode") && cause.$metadata.httpStatusCode === 404))

/**
 * The agents of the SDK's HTTP handler: through the proxy that `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY`
 * (either case) name for the endpoint, as boto3 does (a CONNECT tunnel, whatever the scheme).
 */
const agents = (options: S3Options) => {
  const tls = options.verifyTls ? {} : { rejectUnauthorized: false }
  const proxy = getProxyForUrl(Option.getOrElse(options.endpoint, () => `https://s3.${options.region}.amazonaws.com`))
  if (proxy !== "") {
    const agent = new HttpsProxyAgent(proxy, { keepAlive: true, ...tls })
    return { requestHandler: { httpAgent: agent, httpsAgent: agent } }
  }
  return options.verifyTls ? {} : { requestHandler: { httpsAgent: new Agent({ keepAlive: true, ...tls }) } }
}

const isPreconditionFailed = (cause: unknown): boolean =>
  Predicate.isError(cause) &&
  (cause.name === "PreconditionFailed" ||
    (Predicate.hasProperty(cause, "$metadata") && Predicate.hasProperty(cause.$metadata, "httpStatusCode") && cause.$metadata.httpStatusCode === 412))

const versionOf = (answer: { readonly ETag?: string | undefined; readonly VersionId?: string | undefined }): ObjectVersion => ({
  etag: answer.ETag ?? "",
  // S3 answers "null" for an object written before versioning was enabled: there is no id to delete by.
  versionId: Option.filter(Option.fromUndefinedOr(answer.VersionId), (id) => id !== "null")
})

/**
 * The S3 client of these options; checksums only when required, since many S3-compatible servers reject
 * the SDK's defaults. A command sent without per-call options reuses the middleware the client resolved
 * for its kind of command (`cacheMiddleware`) instead of resolving it again, which costs about a third
 * of the CPU of a small request.
 */
const makeClient = (options: S3Options): S3Client => {
  const credentials = Option.isSome(options.accessKeyId) && Option.isSome(options.secretAccessKey)
    ? { accessKeyId: options.accessKeyId.value, secretAccessKey: Redacted.value(options.secretAccessKey.value) }
    : undefined
  return new S3Client({
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    cacheMiddleware: true,
    ...(Option.isSome(options.endpoint) ? { endpoint: options.endpoint.value } : {}),
    ...(credentials === undefined ? {} : { credentials }),
    ...agents(options)
  })
}

/** ObjectStorage on the AWS SDK; the client lives as long as the layer. */
export const layer = (options: S3Options) =>
  Layer.effect(
    ObjectStorage,
    Effect.gen(function*() {
      const client = yield* Effect.acquireRelease(Effect.sync(() => makeClient(options)), (client) => Effect.sync(() => client.destroy()))

      /**
       * One SDK call, failed past the timeout. `run` sends its commands with the signal, which aborts the
       * request (and the answer's body with it) when the call is interrupted or times out, or, for the
       * calls made for every file of an import, without it, through the cached middleware: such a request
       * is left to end by itself or with the client.
       */
      const call = <A>(operation: StorageOperation, bucket: string, key: string | undefined, run: (signal: AbortSignal) => Promise<A>) =>
        Effect.tryPromise({
          try: run,
          catch: (cause) => new ObjectStorageError({ operation, bucket, key, message: describe(cause), cause })
        }).pipe(
          Effect.timeoutOrElse({
            duration: options.timeout,
            orElse: () =>
              Effect.fail(new ObjectStorageError({ operation, bucket, key, message: `no complete answer within ${Duration.format(options.timeout)} (${options.timeoutVariable})` }))
          })
        )

      const listPage = Effect.fn("S3ObjectStorage.listPage")(function*(bucket: string, prefix: string, token: string | undefined) {
        const page = yield* call("list", bucket, prefix, () => client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })))
        const infos: Array<ObjectInfo> = (page.Contents ?? []).flatMap((entry) =>
          entry.Key === undefined
            ? []
            : [{ key: entry.Key, lastModified: entry.LastModified?.getTime() ?? 0, size: entry.Size ?? 0 }]
        )
        const next = page.IsTruncated === true ? Option.fromUndefinedOr(page.NextContinuationToken) : Option.none()
        return [infos, next] as const
      })

      /** The object's answer, its body there; without a signal, the send goes through the cached middleware. */
      const getObject = async (bucket: string, key: string, signal?: AbortSignal) => {
        const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), signal === undefined ? undefined : { abortSignal: signal })
        const body = response.Body
        if (body === undefined) throw new Error("the response has no body")
        return { ...response, Body: body }
      }

      const get = Effect.fn("S3ObjectStorage.get")(function*(bucket: string, key: string) {
        return yield* call("get", bucket, key, async (signal) => (await getObject(bucket, key, signal)).Body.transformToByteArray())
      })

      const copy = Effect.fn("S3ObjectStorage.copy")(function*(bucket: string, key: string, toBucket: string, toKey: string) {
        yield* call("copy", toBucket, toKey, (abortSignal) =>
          client.send(new CopyObjectCommand({ Bucket: toBucket, Key: toKey, CopySource: `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}` }), { abortSignal }))
      })

      const put = Effect.fn("S3ObjectStorage.put")(function*(bucket: string, key: string, body: Uint8Array, contentType: string) {
        yield* call("put", bucket, key, (abortSignal) =>
          client.send(
            new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, ContentLength: body.byteLength }),
            { abortSignal }
          ))
      })

      const fetch = Effect.fn("S3ObjectStorage.fetch")(function*(bucket: string, key: string, maxBytes: number) {
        return yield* call("get", bucket, key, async () => {
          const response = await getObject(bucket, key)
          const tooLarge = (size: number) => new Error(`the object is ${size} bytes, over the limit of ${maxBytes} bytes`)
          if ((response.ContentLength ?? 0) > maxBytes) {
            // Closing the body's socket unread is what keeps the bytes out of memory.
            response.Body.transformToWebStream().cancel().catch(() => undefined)
            throw tooLarge(response.ContentLength ?? 0)
          }
          const body = await response.Body.transformToByteArray()
          if (body.byteLength > maxBytes) throw tooLarge(body.byteLength)
          return { body, version: versionOf(response) }
        })
      })

      /** The current version of the object; none when there is no object at `key`. */
      const head = (bucket: string, key: string) =>
        call("head", bucket, key, () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).pipe(
          Effect.map((answer) => Option.some(versionOf(answer))),
          Effect.catchIf((error) => isNotFound(error.cause), () => Effect.succeed(Option.none<ObjectVersion>()))
        )

      const remove = Effect.fn("S3ObjectStorage.delete")(function*(bucket: string, key: string) {
        yield* call("delete", bucket, key, () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })))
      })

      /**
       * A version id deletes that version alone. Otherwise If-Match makes the delete conditional where the
       * server honours it; some S3-compatible servers (s3rver among them) ignore it, so the ETag is
       * compared with a HEAD first.
       */
      const deleteVersion = Effect.fn("S3ObjectStorage.deleteVersion")(function*(bucket: string, key: string, version: ObjectVersion) {
        if (Option.isNone(version.versionId)) {
          const current = yield* head(bucket, key)
          if (Option.isNone(current)) return "gone"
          if (current.value.etag !== version.etag) return "changed"
        }
        return yield* call("delete", bucket, key, () =>
          client.send(new DeleteObjectCommand({
            Bucket: bucket,
            Key: key,
            ...Option.match(version.versionId, { onNone: () => ({ IfMatch: version.etag }), onSome: (id) => ({ VersionId: id }) })
          }))).pipe(
          Effect.as<DeleteOutcome>("deleted"),
          Effect.catchIf((error) => isPreconditionFailed(error.cause), () => Effect.succeed<DeleteOutcome>("changed"))
        )
      })

      const ensureBucket = Effect.fn("S3ObjectStorage.ensureBucket")(function*(bucket: string) {
        yield* call("ensureBucket", bucket, undefined, (abortSignal) => client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal })).pipe(
          Effect.catch((error) =>
            isNotFound(error.cause)
              ? call("ensureBucket", bucket, undefined, (abortSignal) =>
                // Another writer may create it between the look and the creation.
                client.send(new CreateBucketCommand({ Bucket: bucket }), { abortSignal }).catch((error: unknown) => {
                  if (Predicate.isError(error) && (error.name === "BucketAlreadyOwnedByYou" || error.name === "BucketAlreadyExists")) return undefined
                  throw error
                }))
              : Effect.fail(error)
          )
        )
      })

      return ObjectStorage.of({
        list: (bucket, prefix) =>
          Stream.paginate<string | undefined, ObjectInfo, ObjectStorageError>(undefined, (token) => listPage(bucket, prefix, token)),
        get,
        getStream: (bucket, key) =>
          Stream.unwrap(Effect.map(
            call("get", bucket, key, async (signal) => (await getObject(bucket, key, signal)).Body.transformToWebStream()),
            (readable) => Stream.fromAsyncIterable(readable, (cause) => new ObjectStorageError({ operation: "get", bucket, key, message: describe(cause), cause }))
          )),
        put,
        copy,
        fetch,
        delete: remove,
        deleteVersion,
        ensureBucket
      })
    })
  )
