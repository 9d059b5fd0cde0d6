import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { crc32c } from '../../../src/lib/protocol/crc32c.js'
import { firstRecordAtOrAfter, MAX_INFLATED_BYTES } from '../../../src/lib/protocol/records.js'
import { recordBatch } from '../broker/raw-client.js'

describe('firstRecordAtOrAfter', () => {
  const batch = recordBatch(['a', 'b', 'c', 'd'], crc32c, 1_000, [0, 5, 300_000, 5_000_000_000])
  batch.writeBigInt64BE(40n, 0)

  it('finds the first record whose timestamp reaches the target, with large deltas', () => {
    expect(firstRecordAtOrAfter(batch, 0n)).toEqual({ offset: 40n, timestamp: 1_000n })
    expect(firstRecordAtOrAfter(batch, 1_001n)).toEqual({ offset: 41n, timestamp: 1_005n })
    expect(firstRecordAtOrAfter(batch, 1_006n)).toEqual({ offset: 42n, timestamp: 301_000n })
    expect(firstRecordAtOrAfter(batch, 301_001n)).toEqual({ offset: 43n, timestamp: 5_000_001_000n })
    expect(firstRecordAtOrAfter(batch, 5_000_001_001n)).toBeNull()
  })

  it('gives up (undefined) on codecs it cannot read and on garbage', () => {
    const snappy = Buffer.from(batch)
    snappy.writeInt16BE(2, 21)
    expect(firstRecordAtOrAfter(snappy, 0n)).toBeUndefined()
    expect(firstRecordAtOrAfter(batch.subarray(0, 70), 2_000n)).toBeUndefined()
    expect(firstRecordAtOrAfter(Buffer.alloc(10), 0n)).toBeUndefined()
  })

  it('never inflates a gzip batch past the cap (a stored gzip bomb)', () => {
    // A "gzip" batch whose body inflates to more than the cap: the header claims 1 record.
    const bomb = gzipSync(Buffer.alloc(MAX_INFLATED_BYTES + 1024))
    const header = Buffer.from(batch.subarray(0, 61))
    header.writeInt16BE(1, 21)
    header.writeInt32BE(61 + bomb.length - 12, 8)
    header.writeInt32BE(1, 57)
    expect(firstRecordAtOrAfter(Buffer.concat([header, bomb]), 0n)).toBeUndefined()
  })
})
