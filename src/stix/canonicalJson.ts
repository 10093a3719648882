/**
 * RFC 8785 canonical JSON of a flat map of strings, as `stix2.canonicalization` writes it for pycti's
 * `generate_id`: keys sorted by UTF-16 code units, no whitespace, strings escaped like CPython's
 * `json` with `ensure_ascii=False`. `JSON.stringify` escapes strings the same way; the only difference
 * is a lone surrogate, which Python cannot encode at all.
 */
export const canonicalJson = (data: Readonly<Record<string, string>>): string =>
  `{${Object.keys(data)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${JSON.stringify(data[key])}`)
    .join(",")}}`
