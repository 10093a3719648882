import { build } from "esbuild"
import type { Plugin } from "esbuild"
import { rm } from "node:fs/promises"

/**
 * Builds `dist/` for `node dist/main.js`: the CLI and every production dependency bundled as ES
 * modules, so that a process reads a few files instead of resolving and compiling hundreds, and parses
 * only the code that is reachable. Each command's `import()` of its connector becomes a chunk of its
 * own (`splitting`), loaded only by the command that runs it; code shared between connectors goes into
 * shared chunks. Type checks stay with `tsc` (`npm run typecheck`); this only compiles.
 * Run with `npx tsx build.ts` (`npm run build`).
 */

/**
 * `node:http` through `require`: imported as an ES module, its namespace reads every export, the lazy
 * WebSocket ones included, which loads Node's own undici (about 45 ms of CPU at start-up, against 5 ms
 * for the CommonJS module). Each ES module that imports it gets the CommonJS module instead.
 */
const httpAsCommonJs: Plugin = {
  name: "http-as-commonjs",
  setup: (build) => {
    build.onResolve({ filter: /^(node:)?http$/ }, (args) => (args.kind === "import-statement" ? { path: "node:http", namespace: "http-as-commonjs" } : undefined))
    build.onLoad({ filter: /.*/, namespace: "http-as-commonjs" }, () => ({ contents: "module.exports = require(\"node:http\")", loader: "js" }))
  }
}

await rm(new URL("dist", import.meta.url), { recursive: true, force: true })
await build({
  entryPoints: ["src/main.ts"],
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  // The ES module builds of the dependencies that ship both (the AWS SDK), which can be tree-shaken.
  mainFields: ["module", "main"],
  sourcemap: true,
  sourcesContent: false,
  chunkNames: "chunks/[name]-[hash]",
  // CommonJS dependencies (amqplib, parts of the AWS SDK) call `require` for Node's built-in modules,
  // which an ES module does not have.
  banner: { js: "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);" },
  plugins: [httpAsCommonJs],
  logLevel: "warning"
})
