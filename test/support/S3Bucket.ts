import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client
} from "@aws-sdk/client-s3"

/** One object to upload: a key and its bytes (a string is stored as UTF-8). */
export interface S3ObjectInput {
  readonly key: string
  readonly body: string | Uint8Array
}

// Guards the listing loop: 10 000 pages of 1 000 keys is far beyond any test.
const MAX_LIST_PAGES = 10_000

export const createBucket = async (client: S3Client, bucket: string): Promise<void> => {
  await client.send(new CreateBucketCommand({ Bucket: bucket }))
}

/** Uploads every object, at most `concurrency` (default 16) at a time. */
export const putObjects = async (
  client: S3Client,
  bucket: string,
  objects: ReadonlyArray<S3ObjectInput>,
  options: { readonly concurrency?: number } = {}
): Promise<void> => {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < objects.length) {
      const object = objects[next++]
      if (object === undefined) return
      const body = typeof object.body === "string" ? new TextEncoder().encode(object.body) : object.body
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: object.key, Body: body, ContentLength: body.byteLength }))
    }
  }
  const workers = Math.max(1, Math.min(options.concurrency ?? 16, objects.length))
  await Promise.all(Array.from({ length: workers }, worker))
}

/** Every key under `prefix`, following continuation tokens page by page. */
export const listAllKeys = async (
  client: S3Client,
  bucket: string,
  options: { readonly prefix?: string; readonly pageSize?: number } = {}
): Promise<Array<string>> => {
  const keys: Array<string> = []
  let token: string | undefined
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const response = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: options.prefix,
        MaxKeys: options.pageSize,
        ContinuationToken: token
      })
    )
    for (const object of response.Contents ?? []) {
      if (object.Key !== undefined) keys.push(object.Key)
    }
    if (response.IsTruncated !== true) return keys
    token = response.NextContinuationToken
    if (token === undefined) throw new Error("truncated listing without a continuation token")
  }
  throw new Error(`listing of ${bucket} did not end within ${MAX_LIST_PAGES} pages`)
}

export const getBytes = async (client: S3Client, bucket: string, key: string): Promise<Uint8Array> => {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  if (response.Body === undefined) throw new Error(`no body for s3://${bucket}/${key}`)
  return response.Body.transformToByteArray()
}

export const getText = async (client: S3Client, bucket: string, key: string): Promise<string> =>
  new TextDecoder().decode(await getBytes(client, bucket, key))
