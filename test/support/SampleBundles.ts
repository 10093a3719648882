/** A one-object STIX bundle (a malware named `name`) with fresh random ids. */
export const malwareBundle = (name: string): string =>
  JSON.stringify({
    type: "bundle",
    id: `bundle--${crypto.randomUUID()}`,
    objects: [{
      type: "malware",
      spec_version: "2.1",
      id: `malware--${crypto.randomUUID()}`,
      name,
      is_family: true,
      created: "2024-01-01T00:00:00.000Z",
      modified: "2024-01-02T00:00:00.000Z"
    }]
  })
