import { Option } from "effect"

const STIX_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$/

const isLeapYear = (year: number): boolean => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** Days in a month (1-12) of the proleptic Gregorian calendar, as Python's `datetime` counts them. */
export const daysInMonth = (year: number, month: number): number =>
  month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1] ?? 0

/**
 * A timestamp re-serialized as the stix2 library writes `created` / `modified` of the objects it builds:
 * the input must be `YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z`; the output fraction keeps its significant digits
 * with at least milliseconds (`…:00Z` -> `…:00.000Z`, `.1Z` -> `.100Z`, `.123456Z` kept).
 */
export const formatStixTimestamp = (timestamp: string): Option.Option<string> => {
  const match = STIX_TIMESTAMP.exec(timestamp)
  if (match === null) return Option.none()
  const [, year, month, day, hour, minute, second, fraction = ""] = match
  const valid = Number(year) >= 1 && Number(month) >= 1 && Number(month) <= 12 && Number(day) >= 1 &&
    Number(day) <= daysInMonth(Number(year), Number(month)) && Number(hour) <= 23 &&
    Number(minute) <= 59 && Number(second) <= 59
  if (!valid) return Option.none()
  const significant = fraction.padEnd(6, "0").replace(/0+$/, "").padEnd(3, "0")
  return Option.some(`${year}-${month}-${day}T${hour}:${minute}:${second}.${significant}Z`)
}
