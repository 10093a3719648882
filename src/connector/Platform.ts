import { Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { OpenCti } from "../opencti/OpenCti.js"
import { Connector } from "./Connector.js"

/** What every connector runs on, built once: its registration, the OpenCTI client, and the HTTP client (fetch) under them. */
export const layer = Connector.layer.pipe(Layer.provideMerge(OpenCti.layer), Layer.provideMerge(FetchHttpClient.layer))
