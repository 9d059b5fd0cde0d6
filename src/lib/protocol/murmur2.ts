/** Kafka's default partitioner: murmur2 (org.apache.kafka.common.utils.Utils.murmur2) of the key. */

/** Kafka's murmur2 of the bytes, as a signed 32-bit int. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  const m = 0x5bd1e995
  let h = 0x9747b28c ^ length
  const length4 = length & ~3
  for (let i = 0; i < length4; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  const tail = length & 3
  if (tail === 3) h ^= data[length4 + 2] << 16
  if (tail >= 2) h ^= data[length4 + 1] << 8
  if (tail >= 1) {
    h ^= data[length4]
    h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

/** The partition of a key as Kafka's default partitioner picks it: positive murmur2 mod count. */
export function partitionForKey(key: string | Uint8Array, numPartitions: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key
  return (murmur2(bytes) & 0x7fffffff) % numPartitions
}
