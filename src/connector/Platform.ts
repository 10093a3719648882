import { Layer } from "effect"
import { OpenCti } from "../opencti/OpenCti.js"
import * as PlatformHttp from "../opencti/PlatformHttp.js"
import { Connector } from "./Connector.js"

/**
 * What every connector runs on, built once: its registration, the OpenCTI client, and the platform's
 * HTTP client under them (TLS, custom headers and proxies; the live stream uses it too).
 */
export const layer = Connector.layer.pipe(Layer.provideMerge(OpenCti.layer), Layer.provideMerge(PlatformHttp.layer))
