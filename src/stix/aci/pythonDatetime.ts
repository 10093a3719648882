import { Result } from "effect"
import { daysInMonth } from "../stixTimestamp.js"

/**
 * Python's `datetime.fromisoformat` (3.11+) and `>` between its results, for the outdated check:
 * the reference compares the platform's `x_opencti_modified_at` with the bundle's `modified` this
 * way, and keeps the vulnerability when either raises. ISO week dates are not read (they fail).
 */

export interface PythonDatetime {
  /** Microseconds since 1970-01-01 of the wall-clock reading, offset not applied. */
  readonly wallMicros: bigint
  /** Offset from UTC in microseconds; null for a naive datetime. */
  readonly offsetMicros: bigint | null
}

const EXTENDED_TIME = /^(\d\d)(?::(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?$/
const BASIC_TIME = /^(\d\d)(?:(\d\d)(?:(\d\d)(?:[.,](\d+))?)?)?$/

interface TimeParts {
  readonly hour: number
  readonly minute: number
  readonly second: number
  readonly micro: number
}

/** `HH[:MM[:SS[.f+]]]` or `HH[MM[SS[.f+]]]`; digits past the sixth fraction digit are dropped. */
const parseTime = (text: string): TimeParts | undefined => {
  const match = (text[2] === ":" ? EXTENDED_TIME : BASIC_TIME).exec(text)
  if (match === null) return undefined
  const [, hour = "0", minute = "0", second = "0", fraction = ""] = match
  return {
    hour: Number(hour),
    minute: Number(minute),
    second: Number(second),
    micro: Number(fraction.slice(0, 6).padEnd(6, "0"))
  }
}

const MICROS_PER_DAY = 86_400_000_000n

const zoneOffset = (text: string, signIndex: number): bigint | null | undefined => {
  if (signIndex < 0) return null
  const zone = text.slice(signIndex + 1)
  if (text[signIndex] === "Z" && zone === "") return 0n
  if (zone.length <= 1 || zone.length === 3) return undefined
  const parts = parseTime(zone)
  if (parts === undefined) return undefined
  const micros = BigInt(((parts.hour * 60 + parts.minute) * 60 + parts.second) * 1_000_000 + parts.micro)
  if (micros >= MICROS_PER_DAY) return undefined
  return text[signIndex] === "-" ? -micros : micros
}

const epochMicros = (year: number, month: number, day: number, time: TimeParts): bigint => {
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(time.hour, time.minute, time.second, 0)
  return BigInt(date.getTime()) * 1000n + BigInt(time.micro)
}

const MIDNIGHT: TimeParts = { hour: 0, minute: 0, second: 0, micro: 0 }

const parse = (text: string): PythonDatetime | undefined => {
  const extended = text[4] === "-"
  const dateLength = extended ? 10 : 8
  const date = (extended ? /^(\d{4})-(\d\d)-(\d\d)$/ : /^(\d{4})(\d\d)(\d\d)$/).exec(text.slice(0, dateLength))
  if (date === null) return undefined
  const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])]
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  const timeText = text.slice(dateLength + 1)
  if (timeText === "") return { wallMicros: epochMicros(year, month, day, MIDNIGHT), offsetMicros: null }
  if (timeText.length < 2) return undefined
  const signIndex = [timeText.indexOf("-"), timeText.indexOf("+"), timeText.indexOf("Z")]
    .find((index) => index >= 0) ?? -1
  const time = parseTime(signIndex >= 0 ? timeText.slice(0, signIndex) : timeText)
  const offsetMicros = zoneOffset(timeText, signIndex)
  if (time === undefined || offsetMicros === undefined) return undefined
  if (time.hour > 23 || time.minute > 59 || time.second > 59) return undefined
  return { wallMicros: epochMicros(year, month, day, time), offsetMicros }
}

/** `datetime.fromisoformat(text)`, failing with Python's message. */
export const fromIsoFormat = (text: string): Result.Result<PythonDatetime, string> => {
  const parsed = text.length < 7 ? undefined : parse(text)
  return parsed === undefined
    ? Result.fail(`ValueError: Invalid isoformat string: '${text}'`)
    : Result.succeed(parsed)
}

/** `left > right`; Python refuses to compare a naive datetime with an aware one. */
export const isLater = (left: PythonDatetime, right: PythonDatetime): Result.Result<boolean, string> => {
  if (left.offsetMicros === null && right.offsetMicros === null) {
    return Result.succeed(left.wallMicros > right.wallMicros)
  }
  if (left.offsetMicros === null || right.offsetMicros === null) {
    return Result.fail("TypeError: can't compare offset-naive and offset-aware datetimes")
  }
  return Result.succeed(left.wallMicros - left.offsetMicros > right.wallMicros - right.offsetMicros)
}
