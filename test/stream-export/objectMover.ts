import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3"
import { Effect, Option } from "effect"
import { setTimeout as sleep } from "node:timers/promises"
import { fileNumberOf } from "../../src/stream-export/ExportObjects.js"
import { createBucket, listAllKeys } from "../support/S3Bucket.js"
import { makeS3Client } from "../support/S3Server.js"
import type { S3ServerHandle } from "../support/S3Server.js"

/** One object a mover took out of the folder: its key and its text. */
export interface MovedObject {
  readonly key: string
  readonly text: string
}

/**
 * Moves the export objects out of `bucket/folder` as an importer (or a transfer agent) does, in number
 * order, again and again until the scope closes (then once more): each is read, kept here, and deleted
 * unless it changed since it was read. Every copy read is kept, a key written again included.
 *
 * s3rver removes the directory of a folder when its last object is deleted, which races a write into
 * it and can crash the server: a marker object, no export object, keeps the folder from emptying. And
 * s3rver shows an upload cut short by a kill (empty, or cut mid-line), which S3 never does (a PUT is
 * atomic): the mover leaves such an object where it is, as a mover on S3 would never see it.
 */
export const objectMoverScoped = (s3: S3ServerHandle, options: { readonly bucket: string; readonly folder: string; readonly pauseMs: number }) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = makeS3Client(s3)
      await createBucket(client, options.bucket)
      await client.send(new PutObjectCommand({ Bucket: options.bucket, Key: `${options.folder}mover-marker`, Body: "", ContentLength: 0 }))
      const moved: Array<MovedObject> = []
      const numberOf = (key: string) => Option.getOrElse(fileNumberOf(options.folder, key), () => 0)
      const moveOne = async (key: string) => {
        const object = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: key })).catch(() => undefined)
        const text = await object?.Body?.transformToString()
        if (object === undefined || text === undefined || !text.endsWith("\n")) return
        moved.push({ key, text })
        const now = await client.send(new HeadObjectCommand({ Bucket: options.bucket, Key: key })).catch(() => undefined)
        if (now?.ETag === object.ETag) await client.send(new DeleteObjectCommand({ Bucket: options.bucket, Key: key }))
      }
      const sweep = async () => {
        const keys = await listAllKeys(client, options.bucket, { prefix: options.folder }).catch(() => [])
        const objects = keys.filter((key) => Option.isSome(fileNumberOf(options.folder, key)))
        for (const key of objects.sort((a, b) => numberOf(a) - numberOf(b))) await moveOne(key)
      }
      let running = true
      const loop = (async () => {
        while (running) {
          await sweep()
          await sleep(options.pauseMs)
        }
      })()
      const stop = async () => {
        running = false
        await loop
        await sweep()
        client.destroy()
      }
      return { moved, stop }
    }),
    (mover) => Effect.promise(mover.stop)
  )
