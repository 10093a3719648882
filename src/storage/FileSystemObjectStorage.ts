import { Effect, Layer, Option, Predicate, Stream } from "effect"
import { randomBytes } from "node:crypto"
import { createReadStream } from "node:fs"
import { copyFile, mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises"
import { dirname, join, sep } from "node:path"
import { ObjectStorage, ObjectStorageError } from "./ObjectStorage.js"
import type { DeleteOutcome, ObjectInfo, ObjectVersion, StorageOperation } from "./ObjectStorage.js"

/**
 * ObjectStorage on a file system, for transfers through a data diode: a bucket is a directory, a key a
 * path below it (`/`-separated). Writes and copies are atomic: the bytes go to a temporary file in the
 * same directory, are flushed to disk, and the file is renamed into place, then the directory itself is
 * flushed; a reader (or a transfer agent) never sees half an object, and a crash never leaves one.
 */

const temporaryMarker = ".partial-"

/** Temporary files are hidden (`.name.partial-<random>`) and never listed. */
export const isTemporary = (name: string): boolean => name.startsWith(".") && name.includes(temporaryMarker)

const temporaryPath = (path: string): string => {
  const directory = dirname(path)
  const name = path.slice(directory.length + 1)
  return join(directory, `.${name}${temporaryMarker}${randomBytes(6).toString("hex")}`)
}

const codeOf = (cause: unknown): string | undefined =>
  Predicate.hasProperty(cause, "code") && Predicate.isString(cause.code) ? cause.code : undefined

const describe = (cause: unknown): string => (Predicate.isError(cause) ? cause.message : String(cause))

/** A key as a relative path; absolute keys and `..` segments would leave the bucket. */
const relativePath = (key: string): string | undefined => {
  const segments = key.split("/")
  return key.length === 0 || key.startsWith("/") || segments.some((segment) => segment === ".." || segment === "." || segment === "") ? undefined : segments.join(sep)
}

const flushDirectory = async (directory: string): Promise<void> => {
  const handle = await open(directory, "r")
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Writes `path` atomically with `fill`, which writes the temporary file it is given. */
const writeAtomically = async (path: string, fill: (temporary: string) => Promise<void>): Promise<void> => {
  await mkdir(dirname(path), { recursive: true })
  const temporary = temporaryPath(path)
  try {
    await fill(temporary)
    const handle = await open(temporary, "r+")
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporary, path)
  } catch (error) {
    await unlink(temporary).catch(() => undefined)
    throw error
  }
  await flushDirectory(dirname(path))
}

/** Every file below `directory`, directory by directory in name order, as `/`-separated keys starting with `keyPrefix`; temporary files left out. */
async function* walk(directory: string, keyPrefix: string): AsyncGenerator<ObjectInfo> {
  const entries = await readdir(directory, { withFileTypes: true }).catch((error: unknown) => {
    if (codeOf(error) === "ENOENT") return []
    throw error
  })
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const entry of entries) {
    const key = `${keyPrefix}${entry.name}`
    if (entry.isDirectory()) {
      yield* walk(join(directory, entry.name), `${key}/`)
    } else if (entry.isFile() && !isTemporary(entry.name)) {
      const info = await stat(join(directory, entry.name)).catch((error: unknown) => {
        // Moved away between the directory read and this look.
        if (codeOf(error) === "ENOENT") return undefined
        throw error
      })
      if (info !== undefined) yield { key, lastModified: info.mtimeMs, size: info.size }
    }
  }
}

/** A file's version: its size and modification time, which any rewrite changes. */
const versionOf = (info: { readonly size: number; readonly mtimeMs: number }): ObjectVersion => ({
  etag: `${info.size}-${info.mtimeMs}`,
  versionId: Option.none()
})

const statOrNone = (path: string) =>
  stat(path).catch((error: unknown) => (codeOf(error) === "ENOENT" ? undefined : Promise.reject(error)))

export const layer = Layer.succeed(ObjectStorage, (() => {
  const fail = (operation: StorageOperation, bucket: string, key: string | undefined, cause: unknown) =>
    new ObjectStorageError({ operation, bucket, key, message: describe(cause), cause })

  /** The path of `key` in `bucket`, or a failure for a key that would leave the bucket. */
  const pathOf = (operation: StorageOperation, bucket: string, key: string) => {
    const relative = relativePath(key)
    return relative === undefined
      ? Effect.fail(new ObjectStorageError({ operation, bucket, key, message: `the key ${JSON.stringify(key)} is not a relative path below the directory` }))
      : Effect.succeed(join(bucket, relative))
  }

  const run = <A>(operation: StorageOperation, bucket: string, key: string | undefined, body: () => Promise<A>) =>
    Effect.tryPromise({ try: body, catch: (cause) => fail(operation, bucket, key, cause) })

  return ObjectStorage.of({
    list: (bucket, prefix) => {
      // Only the directory the prefix names is walked; the rest of the prefix filters names.
      const directoryPart = prefix.slice(0, prefix.lastIndexOf("/") + 1)
      const start = directoryPart === "" ? bucket : join(bucket, ...directoryPart.split("/").filter((part) => part !== ""))
      return Stream.suspend(() => Stream.fromAsyncIterable(walk(start, directoryPart), (cause) => fail("list", bucket, prefix, cause))).pipe(
        Stream.filter((info) => info.key.startsWith(prefix))
      )
    },
    get: (bucket, key) =>
      Effect.flatMap(pathOf("get", bucket, key), (path) => run("get", bucket, key, () => readFile(path).then((buffer) => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)))),
    getStream: (bucket, key) =>
      Stream.unwrap(Effect.map(pathOf("get", bucket, key), (path) =>
        Stream.suspend(() => Stream.fromAsyncIterable<Uint8Array, ObjectStorageError>(createReadStream(path), (cause) => fail("get", bucket, key, cause))))),
    put: (bucket, key, body) =>
      Effect.flatMap(pathOf("put", bucket, key), (path) =>
        run("put", bucket, key, () =>
          writeAtomically(path, async (temporary) => {
            const handle = await open(temporary, "wx")
            try {
              await handle.writeFile(body)
            } finally {
              await handle.close()
            }
          }))),
    copy: (bucket, key, toBucket, toKey) =>
      Effect.flatMap(Effect.all([pathOf("copy", bucket, key), pathOf("copy", toBucket, toKey)]), ([from, to]) =>
        run("copy", toBucket, toKey, () => writeAtomically(to, (temporary) => copyFile(from, temporary)))),
    delete: (bucket, key) =>
      Effect.flatMap(pathOf("delete", bucket, key), (path) =>
        // As on S3, deleting what is not there succeeds.
        run("delete", bucket, key, () => unlink(path).catch((error: unknown) => (codeOf(error) === "ENOENT" ? undefined : Promise.reject(error))))),
    fetch: (bucket, key, maxBytes) =>
      Effect.flatMap(pathOf("get", bucket, key), (path) =>
        run("get", bucket, key, async () => {
          const before = await stat(path)
          if (before.size > maxBytes) throw new Error(`the object is ${before.size} bytes, over the limit of ${maxBytes} bytes`)
          const buffer = await readFile(path)
          return { body: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength), version: versionOf(before) }
        })),
    deleteVersion: (bucket, key, version) =>
      Effect.flatMap(pathOf("delete", bucket, key), (path) =>
        run("delete", bucket, key, async (): Promise<DeleteOutcome> => {
          const current = await statOrNone(path)
          if (current === undefined) return "gone"
          if (versionOf(current).etag !== version.etag) return "changed"
          // Another deleter may remove it between the look and the unlink.
          return unlink(path).then(
            () => "deleted",
            (error: unknown) => (codeOf(error) === "ENOENT" ? "gone" : Promise.reject(error))
          )
        })),
    ensureBucket: (bucket) => run("ensureBucket", bucket, undefined, () => mkdir(bucket, { recursive: true }).then(() => undefined))
  })
})())
