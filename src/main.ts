import { enableCompileCache } from "node:module"

// Compiling the bundle's modules is most of a start-up's CPU: V8's compiled code is kept between runs,
// in the directory NODE_COMPILE_CACHE names or else in the OS temporary directory. Where it cannot be
// written (a read-only file system) or NODE_DISABLE_COMPILE_CACHE=1 is set, Node runs without it.
enableCompileCache()
await import("./cli.js")
