import { Option } from "effect"

/** The marking-definition ids of the TLP levels, as stix2 and the OpenCTI platform define them. */
export const TlpMarkingId = {
  "TLP:CLEAR": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
  "TLP:WHITE": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
  "TLP:GREEN": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
  "TLP:AMBER": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
  "TLP:AMBER+STRICT": "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
  "TLP:RED": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
} as const

export type TlpLevel = keyof typeof TlpMarkingId

const isTlpLevel = (name: string): name is TlpLevel => Object.hasOwn(TlpMarkingId, name)

/** The marking-definition id of a TLP level named in any letter case (`tlp:amber+strict`), if it is one. */
export const tlpMarkingId = (name: string): Option.Option<string> => {
  const level = name.toUpperCase()
  return isTlpLevel(level) ? Option.some(TlpMarkingId[level]) : Option.none()
}
