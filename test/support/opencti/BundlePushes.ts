import type { PlatformErrorCode } from "./errors.js"

/** How a scripted `stixBundlePush` fails. */
export type PushFailure =
  /** A GraphQL error in a 200 response (default `UNSUPPORTED_ERROR` "Invalid bundle"). */
  | { readonly kind: "graphql"; readonly code?: PlatformErrorCode; readonly message?: string }
  /** The whole HTTP response fails (default 500), as when the platform or a proxy in front of it breaks. */
  | { readonly kind: "http"; readonly status?: number; readonly body?: string }
  /** The field is answered `null` without an error, and nothing is imported. */
  | { readonly kind: "null" }

/** A bundle the platform accepted. */
export interface PushedBundle {
  readonly connectorId: string
  readonly workId: string
  /** The bundle string as sent. */
  readonly raw: string
  readonly objectCount: number
  readonly at: string
}

/** Bundle pushes accepted so far, and the failures scripted for the next ones. */
export class BundlePushes {
  private readonly accepted: Array<PushedBundle> = []
  private readonly onCall = new Map<number, PushFailure>()
  private readonly upcoming: Array<PushFailure> = []
  private calls = 0

  /** Awaited before an accepted push is answered: a test can change the world while the connector waits for the answer. */
  beforeAnswer: (accepted: PushedBundle) => Promise<void> = () => Promise.resolve()

  get bundles(): ReadonlyArray<PushedBundle> {
    return this.accepted
  }

  /** Number of `stixBundlePush` fields executed or refused so far. */
  get callCount(): number {
    return this.calls
  }

  /** The next `times` pushes fail. */
  failNext(times: number, failure: PushFailure): void {
    for (let i = 0; i < times; i++) this.upcoming.push(failure)
  }

  /** The `call`-th push (1-based, counted over the stand-in's life) fails. */
  failOnCall(call: number, failure: PushFailure): void {
    this.onCall.set(call, failure)
  }

  /** Counts one push and says whether it must fail. */
  nextOutcome(): PushFailure | undefined {
    this.calls += 1
    const scripted = this.onCall.get(this.calls)
    if (scripted !== undefined) {
      this.onCall.delete(this.calls)
      return scripted
    }
    return this.upcoming.shift()
  }

  record(bundle: PushedBundle): void {
    this.accepted.push(bundle)
  }
}
