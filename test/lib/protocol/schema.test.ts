import { describe, expect, it } from 'vitest'
import {
  API_SPECS,
  apiSpec,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../../src/lib/protocol/apis.js'
import { Reader, Writer } from '../../../src/lib/protocol/primitives.js'
import {
  decodeMessage,
  defaultValue,
  encodeMessage,
  type FieldSpec,
  inRange,
  type Message,
  type MessageSpec,
} from '../../../src/lib/protocol/schema.js'

/** A non-default example value for every field type, different per field name. */
function example(f: FieldSpec, type = f.type, depth = 0): unknown {
  const n = [...f.name].reduce((a, c) => a + c.charCodeAt(0), 0) + depth
  switch (type) {
    case 'bool':
      return defaultValue(f) !== true
    case 'int8':
      return (n % 100) + 1
    case 'int16':
      return 1000 + n
    case 'uint16':
      return 40000 + n
    case 'int32':
      return 100000 + n
    case 'uint32':
      return 3000000000 + n
    case 'int64':
      return 1n << 40n
    case 'float64':
      return 1.5
    case 'string':
      return `${f.name}-${depth}`
    case 'bytes':
    case 'records':
      return Buffer.from(`bytes of ${f.name}`)
    case 'uuid':
      return Buffer.alloc(16, n % 256).toString('base64url')
    case 'struct':
      return exampleStruct(f.fields ?? [], depth + 1)
    default: {
      const elem = type === '[]struct' ? 'struct' : type.slice(2)
      return [example(f, elem, depth + 1), example(f, elem, depth + 2)]
    }
  }
}

function exampleStruct(fields: readonly FieldSpec[], depth: number): Message {
  const out: Message = {}
  for (const f of fields) out[f.name] = example(f, f.type, depth)
  return out
}

/** What a peer decoding `value` at `version` must see: fields of other versions at their default. */
function expected(fields: readonly FieldSpec[], value: Message, version: number): Message {
  const out: Message = {}
  for (const f of fields) {
    if (!inRange(f.versions, version)) {
      out[f.name] = defaultValue(f)
      continue
    }
    const v = value[f.name]
    if (f.type === 'struct' && v !== null) out[f.name] = expected(f.fields ?? [], v, version)
    else if (f.type === '[]struct' && Array.isArray(v))
      out[f.name] = v.map((x: Message) => expected(f.fields ?? [], x, version))
    else out[f.name] = v
  }
  return out
}

function roundTrip(spec: MessageSpec, version: number, value: Message): { decoded: Message; bytes: Buffer } {
  const bytes = encodeMessage(spec, version, value).toBuffer()
  const r = new Reader(bytes)
  const decoded = decodeMessage(spec, version, r)
  expect(r.remaining(), `${spec.name} v${version} left bytes`).toBe(0)
  return { decoded, bytes }
}

function* allVersions(): Generator<[MessageSpec, number]> {
  for (const api of API_SPECS.values()) {
    for (let v = api.valid[0]; v <= api.valid[1]; v++) {
      yield [api.request, v]
      yield [api.response, v]
    }
  }
}

function taggedFields(fields: readonly FieldSpec[], version: number): FieldSpec[] {
  return fields.filter((f) => inRange(f.versions, version) && inRange(f.tagged, version))
}

describe('message descriptors (Apache Kafka 3.9)', () => {
  it('cover the APIs the project speaks, with 3.9 validVersions', () => {
    expect(apiSpec(0).valid).toEqual([0, 11])
    expect(apiSpec(1).valid).toEqual([0, 17])
    expect(apiSpec(3).valid).toEqual([0, 12])
    expect(apiSpec(18).valid).toEqual([0, 4])
    expect(apiSpec(60).valid).toEqual([0, 1])
    expect(API_SPECS.size).toBeGreaterThanOrEqual(22)
  })

  it('every (API, version) pair round-trips an example value with every field of that version', () => {
    let pairs = 0
    for (const [spec, version] of allVersions()) {
      const value = exampleStruct(spec.fields, 0)
      const { decoded } = roundTrip(spec, version, value)
      expect(decoded, `${spec.name} v${version}`).toEqual(expected(spec.fields, value, version))
      pairs++
    }
    expect(pairs).toBeGreaterThan(200)
  })

  it('fields outside their versions are not on the wire: each present field changes the encoding', () => {
    for (const [spec, version] of allVersions()) {
      const base = encodeMessage(spec, version, exampleStruct(spec.fields, 0)).toBuffer()
      for (const f of spec.fields) {
        if (!inRange(f.versions, version) || f.type === 'struct') continue
        const changed = { ...exampleStruct(spec.fields, 0), [f.name]: defaultValue(f) }
        const bytes = encodeMessage(spec, version, changed).toBuffer()
        // A present field had a non-default example value, so defaulting it changes the bytes.
        expect(bytes.equals(base), `${spec.name} v${version} ${f.name}`).toBe(false)
      }
      for (const f of spec.fields) {
        if (inRange(f.versions, version)) continue
        const changed = { ...exampleStruct(spec.fields, 0), [f.name]: defaultValue(f) }
        expect(
          encodeMessage(spec, version, changed).toBuffer().equals(base),
          `${spec.name} v${version} ${f.name}`,
        ).toBe(true)
      }
    }
  })

  it('tagged fields: absent at their default, present with tag and size otherwise, unknown tags skipped', () => {
    let checked = 0
    for (const [spec, version] of allVersions()) {
      for (const f of taggedFields(spec.fields, version)) {
        const without = encodeMessage(spec, version, {
          ...exampleStruct(spec.fields, 0),
          [f.name]: defaultValue(f),
        })
        const withIt = encodeMessage(spec, version, exampleStruct(spec.fields, 0))
        expect(withIt.length, `${spec.name} v${version} ${f.name}`).toBeGreaterThan(without.length)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(10)

    // A tag the descriptor does not know (a newer peer's) is skipped, and the rest still decodes.
    const spec = apiSpec(18).request
    const w = new Writer()
    w.compactString('kcat')
      .compactString('2.0.2')
      .uvarint(1)
      .uvarint(99)
      .uvarint(3)
      .raw(Buffer.from([1, 2, 3]))
    const decoded = decodeMessage(spec, 3, new Reader(w.toBuffer()))
    expect(decoded).toEqual({ clientSoftwareName: 'kcat', clientSoftwareVersion: '2.0.2' })
  })

  it('flexible versions use compact lengths; classic versions int16/int32 lengths', () => {
    const spec = apiSpec(19).request // CreateTopics: flexible from v5
    const value = { topics: [{ name: 'ab', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 5 }
    const v4 = encodeMessage(spec, 4, value).toBuffer()
    const v5 = encodeMessage(spec, 5, value).toBuffer()
    // v4: int32 array count 1, int16 name length 2
    expect(v4.subarray(0, 8)).toEqual(Buffer.from([0, 0, 0, 1, 0, 2, 0x61, 0x62]))
    // v5: uvarint count+1 = 2, uvarint length+1 = 3
    expect(v5.subarray(0, 4)).toEqual(Buffer.from([2, 3, 0x61, 0x62]))
  })

  it('rejects truncated frames with a decode error, never a crash', () => {
    for (const [spec, version] of allVersions()) {
      const bytes = encodeMessage(spec, version, exampleStruct(spec.fields, 0)).toBuffer()
      if (bytes.length < 2) continue
      expect(() => decodeMessage(spec, version, new Reader(bytes.subarray(0, bytes.length - 1)))).toThrow()
    }
  })
})

describe('headers', () => {
  it('request header v2 and response header v1 exactly for flexible versions; ApiVersions answers with v0', () => {
    expect(requestHeaderVersion(3, 8)).toBe(1)
    expect(requestHeaderVersion(3, 9)).toBe(2)
    expect(responseHeaderVersion(3, 9)).toBe(1)
    expect(responseHeaderVersion(18, 3)).toBe(0)
    expect(requestHeaderVersion(18, 3)).toBe(2)
  })
})
