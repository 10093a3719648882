import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, normalize, relative } from "node:path"

const src = join(import.meta.dirname, "../../src")

const modulesUnder = (folder: string): Array<string> =>
  readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? modulesUnder(join(folder, entry.name)) : entry.name.endsWith(".ts") ? [join(folder, entry.name)] : []
  )

/** Every module of src (path relative to src) with what it imports: other modules of src by path, packages by name. */
const importGraph = (kinds: "static" | "static and dynamic") => new Map(modulesUnder(src).map((file) => {
  const text = readFileSync(file, "utf8")
  const dynamic = kinds === "static" ? [] : [...text.matchAll(/\bimport\("([^"]+)"\)/g)]
  const specifiers = [...text.matchAll(/^(?:import|export)\s[^;=()]*?\sfrom\s+"([^"]+)"/gm), ...dynamic].map((match) => match[1]!)
  const imports = specifiers.map((specifier) =>
    specifier.startsWith(".") ? relative(src, normalize(join(dirname(file), specifier))).replace(/\.js$/, ".ts") : specifier
  )
  return [relative(src, file), imports] as const
}))

const graph = importGraph("static and dynamic")

/** What `module` loads with it: every module it reaches through static imports (the build splits the code at the dynamic ones). */
const loadedWith = (module: string): Set<string> => {
  const staticGraph = importGraph("static")
  const reached = new Set<string>()
  const visit = (current: string) => {
    if (reached.has(current)) return
    reached.add(current)
    for (const imported of staticGraph.get(current) ?? []) visit(imported)
  }
  visit(module)
  return reached
}

const folderOf = (module: string): string => module.includes("/") ? module.slice(0, module.indexOf("/")) : ""

const importsOf = (predicate: (module: string) => boolean) =>
  [...graph].filter(([module]) => predicate(module)).flatMap(([module, imports]) => imports.map((imported) => `${module} -> ${imported}`))

/** The import cycles, each as the path that closes it. */
const cycles = (): Array<string> => {
  const found: Array<string> = []
  const done = new Set<string>()
  const visit = (module: string, path: ReadonlyArray<string>) => {
    if (path.includes(module)) return void found.push([...path.slice(path.indexOf(module)), module].join(" -> "))
    if (done.has(module) || !graph.has(module)) return
    for (const imported of graph.get(module) ?? []) visit(imported, [...path, module])
    done.add(module)
  }
  for (const module of graph.keys()) visit(module, [])
  return found
}

const connectors = new Set(["s3-import", "stream-export", "stream-import"])
/** The adapters behind the ports: only the connectors' composition (their App modules) and tests pick them. */
const adapters = new Set([
  "storage/S3ObjectStorage.ts",
  "storage/FileSystemObjectStorage.ts",
  "state/PlatformStateStore.ts",
  "amqp/AmqpPublisher.ts",
  "s3-import/AmqpBundleSender.ts",
  "s3-import/ApiBundleSender.ts"
])

describe("layering", () => {
  it("reads every module of src", () => {
    assert.isAbove(graph.size, 40)
    assert.isTrue(graph.get("s3-import/S3Importer.ts")?.includes("storage/ObjectStorage.ts"))
  })

  it("has no import cycle", () => {
    assert.deepStrictEqual(cycles(), [])
  })

  it("keeps stix/ pure: it imports only stix/, effect and node:crypto's hashing", () => {
    const outside = importsOf((module) => folderOf(module) === "stix").filter((edge) => {
      const imported = edge.split(" -> ")[1]!
      return !(imported.startsWith("stix/") || imported === "effect" || imported === "node:crypto")
    })
    assert.deepStrictEqual(outside, [])
  })

  it("has no connector import app/ or another connector, and nothing shared import a connector", () => {
    const upward = [...graph].flatMap(([module, imports]) =>
      imports.filter((imported) => {
        const from = folderOf(module)
        const to = folderOf(imported)
        if (to === "app") return from !== "app" && from !== ""
        return connectors.has(to) && to !== from && from !== ""
      }).map((imported) => `${module} -> ${imported}`)
    )
    assert.deepStrictEqual(upward, [])
  })

  it("loads the AMQP client in the S3 import only for the amqp protocol", () => {
    const loaded = loadedWith("s3-import/S3ImportApp.ts")
    assert.isTrue(loaded.has("storage/S3ObjectStorage.ts"))
    assert.isFalse(loaded.has("amqplib"))
  })

  it("has no configuration module import an adapter, and amqp/ not know opencti/", () => {
    const configToAdapter = importsOf((module) => module.endsWith("Config.ts")).filter((edge) => adapters.has(edge.split(" -> ")[1]!))
    const amqpToOpenCti = importsOf((module) => folderOf(module) === "amqp").filter((edge) => edge.split(" -> ")[1]!.startsWith("opencti/"))
    assert.deepStrictEqual([...configToAdapter, ...amqpToOpenCti], [])
  })
})
