import { isDeferredBytes, ProtocolDecodeError, type Reader, Writer } from './primitives.js'

/**
 * Message descriptors and the codec that walks them. A descriptor says, per field, in which
 * versions it exists, when it is nullable, when it is a tagged field (and its tag), and whether it
 * follows the message's flexible versions. The descriptors in ./generated/ come from Apache Kafka's
 * own message definitions (scripts/gen-protocol.mjs); this codec is ours.
 *
 * Values are plain objects keyed by the lowerCamel field name; int64 is a bigint, uuid a base64url
 * string (Kafka's Uuid.toString), bytes and records Buffers (views into the frame on decode).
 */

export type VersionRange = readonly [number, number]

export interface FieldSpec {
  readonly name: string
  /** bool int8 int16 uint16 int32 uint32 int64 float64 string bytes records uuid, []T, struct, []struct */
  readonly type: string
  readonly versions: VersionRange
  readonly nullable?: VersionRange
  readonly tagged?: VersionRange
  readonly tag?: number
  /** A per-field override of the message's flexible versions (null: never flexible). */
  readonly flexible?: VersionRange | null
  readonly ignorable?: boolean
  readonly default?: string
  readonly fields?: readonly FieldSpec[]
}

export interface MessageSpec {
  readonly name: string
  readonly type: 'request' | 'response' | 'header'
  readonly apiKey: number
  readonly valid: VersionRange
  readonly flexible: VersionRange
  readonly fields: readonly FieldSpec[]
}

// biome-ignore lint/suspicious/noExplicitAny: decoded messages are dynamic by nature
export type Message = Record<string, any>

export const inRange = (r: VersionRange | null | undefined, v: number): boolean =>
  r !== null && r !== undefined && v >= r[0] && v <= r[1]

export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA'

/** The value a field has when absent in a version (or not sent as a tagged field). */
export function defaultValue(f: FieldSpec): unknown {
  const d = f.default
  const nullableSomewhere = f.nullable !== undefined
  switch (f.type) {
    case 'bool':
      return d === 'true'
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'float64':
      return d === undefined ? 0 : Number(d)
    case 'int64':
      return d === undefined ? 0n : BigInt(d)
    case 'string':
      return d === 'null' && nullableSomewhere ? null : (d ?? '')
    case 'bytes':
    case 'records':
      return d === 'null' || nullableSomewhere ? null : Buffer.alloc(0)
    case 'uuid':
      return ZERO_UUID
    case 'struct':
      return d === 'null' ? null : defaultStruct(f.fields ?? [])
    default:
      return d === 'null' ? null : []
  }
}

function defaultStruct(fields: readonly FieldSpec[]): Message {
  const out: Message = {}
  for (const f of fields) out[f.name] = defaultValue(f)
  return out
}

function isDefault(f: FieldSpec, v: unknown): boolean {
  const d = defaultValue(f)
  if (v === undefined || v === d) return true
  if (Array.isArray(v)) return v.length === 0 && Array.isArray(d)
  if (Buffer.isBuffer(v)) return Buffer.isBuffer(d) && v.length === 0
  if (f.type === 'struct' && v !== null && d !== null) {
    const fields = f.fields ?? []
    return fields.every((g) => isDefault(g, (v as Message)[g.name]))
  }
  return false
}

// ---- encode -------------------------------------------------------------------------------------

function writeValue(w: Writer, f: FieldSpec, type: string, v: unknown, version: number, flex: boolean): void {
  const nullable = inRange(f.nullable, version)
  if (
    v === null &&
    !nullable &&
    !type.startsWith('[]') &&
    type !== 'struct' &&
    !['string', 'bytes', 'records'].includes(type)
  )
    throw new RangeError(`${f.name} cannot be null`)
  switch (type) {
    case 'bool':
      w.bool(Boolean(v))
      return
    case 'int8':
      w.int8(Number(v ?? 0))
      return
    case 'int16':
      w.int16(Number(v ?? 0))
      return
    case 'uint16':
      w.uint16(Number(v ?? 0))
      return
    case 'int32':
      w.int32(Number(v ?? 0))
      return
    case 'uint32':
      w.uint32(Number(v ?? 0))
      return
    case 'int64':
      w.int64(typeof v === 'bigint' ? v : BigInt((v as number | undefined) ?? 0))
      return
    case 'float64':
      w.float64(Number(v ?? 0))
      return
    case 'uuid':
      w.uuid((v as string | undefined) ?? ZERO_UUID)
      return
    case 'string': {
      const s = v as string | null | undefined
      if ((s === null || s === undefined) && !nullable)
        throw new RangeError(`${f.name} cannot be null in v${version}`)
      if (flex) w.compactNullableString(s)
      else w.nullableString(s)
      return
    }
    case 'bytes':
    case 'records': {
      if (isDeferredBytes(v)) {
        // Record data streamed from the log while the response is written: length now, bytes later.
        if (flex) w.uvarint(v.length + 1)
        else w.int32(v.length)
        w.deferred(v)
        return
      }
      const b = v as Buffer | null | undefined
      if ((b === null || b === undefined) && !nullable) {
        if (flex) w.compactBytes(Buffer.alloc(0))
        else w.bytes(Buffer.alloc(0))
        return
      }
      if (flex) w.compactNullableBytes(b)
      else w.nullableBytes(b)
      return
    }
    case 'struct': {
      if (nullable) {
        if (v === null || v === undefined) {
          w.int8(-1)
          return
        }
        w.int8(1)
      }
      writeStruct(w, f.fields ?? [], (v ?? {}) as Message, version, flex)
      return
    }
    default: {
      if (!type.startsWith('[]')) throw new RangeError(`unknown field type ${type}`)
      const items = v as readonly unknown[] | null | undefined
      const elem = type === '[]struct' ? 'struct' : type.slice(2)
      const item = { ...f, type: elem, nullable: undefined }
      const each = (w: Writer, x: unknown) => writeValue(w, item, elem, x, version, flex)
      if (items === null || items === undefined) {
        if (!nullable && items === null) throw new RangeError(`${f.name} cannot be null in v${version}`)
        if (items === undefined) {
          if (flex) w.compactArray([], each)
          else w.array([], each)
          return
        }
        if (flex) w.compactNullableArray(null, each)
        else w.nullableArray(null, each)
        return
      }
      if (flex) w.compactArray(items, each)
      else w.array(items, each)
    }
  }
}

function fieldFlexible(f: FieldSpec, version: number, messageFlex: boolean): boolean {
  if (f.flexible === undefined) return messageFlex
  return inRange(f.flexible, version)
}

function writeStruct(
  w: Writer,
  fields: readonly FieldSpec[],
  value: Message,
  version: number,
  flex: boolean,
): void {
  const tagged: { f: FieldSpec; v: unknown }[] = []
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue
    const v = value[f.name]
    if (flex && inRange(f.tagged, version)) {
      if (!isDefault(f, v)) tagged.push({ f, v })
      continue
    }
    writeValue(w, f, f.type, v, version, fieldFlexible(f, version, flex))
  }
  if (!flex) return
  tagged.sort((a, b) => (a.f.tag ?? 0) - (b.f.tag ?? 0))
  w.uvarint(tagged.length)
  for (const { f, v } of tagged) {
    const body = new Writer(64)
    writeValue(body, f, f.type, v, version, true)
    w.uvarint(f.tag ?? 0)
    w.uvarint(body.length)
    for (const chunk of body.toChunks()) {
      if (isDeferredBytes(chunk)) w.deferred(chunk)
      else w.raw(chunk)
    }
  }
}

/** Encodes `value` as `spec` at `version` (body only, no header) onto `w`. */
export function encodeMessage(spec: MessageSpec, version: number, value: Message, w = new Writer()): Writer {
  if (!inRange(spec.valid, version)) throw new RangeError(`${spec.name} has no version ${version}`)
  writeStruct(w, spec.fields, value, version, inRange(spec.flexible, version))
  return w
}

// ---- decode -------------------------------------------------------------------------------------

function readValue(r: Reader, f: FieldSpec, type: string, version: number, flex: boolean): unknown {
  const nullable = inRange(f.nullable, version)
  switch (type) {
    case 'bool':
      return r.bool()
    case 'int8':
      return r.int8()
    case 'int16':
      return r.int16()
    case 'uint16':
      return r.uint16()
    case 'int32':
      return r.int32()
    case 'uint32':
      return r.uint32()
    case 'int64':
      return r.int64()
    case 'float64':
      return r.float64()
    case 'uuid':
      return r.uuid()
    case 'string': {
      const s = flex ? r.compactNullableString() : r.nullableString()
      if (s === null && !nullable)
        throw new ProtocolDecodeError(`${f.name} is null in v${version}, where it is not nullable`)
      return s
    }
    case 'bytes':
    case 'records': {
      const b = flex ? r.compactNullableBytes() : r.nullableBytes()
      if (b === null && !nullable)
        throw new ProtocolDecodeError(`${f.name} is null in v${version}, where it is not nullable`)
      return b
    }
    case 'struct': {
      if (nullable && r.int8() < 0) return null
      return readStruct(r, f.fields ?? [], version, flex)
    }
    default: {
      const elem = type === '[]struct' ? 'struct' : type.slice(2)
      const item = { ...f, type: elem, nullable: undefined }
      const each = (r: Reader) => readValue(r, item, elem, version, flex)
      const items = flex ? r.compactNullableArray(each) : r.nullableArray(each)
      if (items === null && !nullable)
        throw new ProtocolDecodeError(`${f.name} is null in v${version}, where it is not nullable`)
      return items
    }
  }
}

function readStruct(r: Reader, fields: readonly FieldSpec[], version: number, flex: boolean): Message {
  const out: Message = {}
  let taggedByTag: Map<number, FieldSpec> | undefined
  for (const f of fields) {
    if (!inRange(f.versions, version)) {
      out[f.name] = defaultValue(f)
      continue
    }
    if (flex && inRange(f.tagged, version)) {
      out[f.name] = defaultValue(f)
      taggedByTag ??= new Map()
      taggedByTag.set(f.tag ?? 0, f)
      continue
    }
    out[f.name] = readValue(r, f, f.type, version, fieldFlexible(f, version, flex))
  }
  if (flex) {
    r.taggedFields((tag, body) => {
      const f = taggedByTag?.get(tag)
      if (f === undefined) return false // unknown tags are skipped
      out[f.name] = readValue(body, f, f.type, version, true)
      return true
    })
  }
  return out
}

/** Decodes a `spec` body at `version` from the reader's position. */
export function decodeMessage(spec: MessageSpec, version: number, r: Reader): Message {
  if (!inRange(spec.valid, version)) throw new ProtocolDecodeError(`${spec.name} has no version ${version}`)
  return readStruct(r, spec.fields, version, inRange(spec.flexible, version))
}
