import { Effect } from "effect"
import type { StateStore } from "../state/StateStore.js"
import { toState } from "./ExportCursor.js"
import type { ExportCursor } from "./ExportCursor.js"
import type { ExportMetrics } from "./ExportMetrics.js"
import { inPhase } from "./StreamExportError.js"

/**
 * Persists a cursor through the StateStore, which pushes it to the platform before returning: once an
 * object is written, its commit is on the platform before anything else is written. The cursor derives
 * from the state read after `resets` resets: after a later one it is refused (StateStoreReset), so that
 * nothing of the export before a reset overwrites it.
 */
export const makeCommitter = (state: StateStore["Service"], metrics: ExportMetrics) =>
  Effect.fn("Committer.commit")(function*(resets: number, cursor: ExportCursor) {
    yield* state.setSince(resets, toState(cursor)).pipe(Effect.catchTag("StateStoreError", (error) => Effect.fail(error).pipe(inPhase("commit"))))
    yield* metrics.cursor(cursor)
  })

export type Committer = ReturnType<typeof makeCommitter>
