import { describe, expect, it } from 'vitest'
import { splitBatches } from '../../../src/lib/broker/log/batch.js'
import { LogError } from '../../../src/lib/broker/log/types.js'
import { openMemoryLogManager } from '../../../src/lib/broker/memory-log.js'
import { crc32c } from '../../../src/lib/protocol/crc32c.js'
import { recordBatch } from './raw-client.js'

describe('memory log', () => {
  it('computes CRC-32C (Castagnoli) check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283)
  })

  it('validates batches: CRC, magic, length, record count', () => {
    const good = recordBatch(['a', 'b'], crc32c)
    expect(splitBatches(Buffer.concat([good, good]))).toHaveLength(2)
    const badCrc = Buffer.from(good)
    badCrc[badCrc.length - 1] ^= 1
    const badMagic = Buffer.from(good)
    badMagic[16] = 1
    const badCount = Buffer.from(good)
    badCount.writeInt32BE(5, 57)
    badCount.writeUInt32BE(crc32c(badCount, 21), 17)
    for (const bad of [badCrc, badMagic, badCount, good.subarray(0, good.length - 1), Buffer.alloc(0)]) {
      expect(() => splitBatches(bad)).toThrow(LogError)
    }
  })

  it('appends, reads whole batches from the containing one, finds timestamps, wakes waiters', async () => {
    const logs = openMemoryLogManager()
    await logs.createTopic('t', 1)
    await expect(logs.createTopic('t', 1)).rejects.toMatchObject({ code: 'TOPIC_ALREADY_EXISTS' })
    await expect(logs.createTopic('bad/name', 1)).rejects.toMatchObject({ code: 'INVALID_TOPIC' })
    const p = logs.partition('t', 0)!
    const waited = p.waitForData(0n, 10_000)
    expect((await p.append(recordBatch(['a', 'b', 'c'], crc32c, 1000))).baseOffset).toBe(0n)
    await waited
    expect((await p.append(recordBatch(['d'], crc32c, 2000))).baseOffset).toBe(3n)
    expect(p.highWatermark()).toBe(4n)
    const mid = await p.read(1n, 1)
    expect(mid.records.readBigInt64BE(0)).toBe(0n) // the batch holding offset 1 starts at 0
    expect(mid.records.length).toBe(12 + mid.records.readInt32BE(8)) // exactly one whole batch
    expect((await p.read(0n, 1 << 20)).records.length).toBeGreaterThan(mid.records.length)
    expect((await p.read(4n, 100)).records.length).toBe(0)
    await expect(p.read(5n, 100)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' })
    expect(await p.offsetForTimestamp(1500n)).toEqual({ offset: 3n, timestamp: 2000n })
    expect(await p.offsetForTimestamp(5000n)).toBeNull()
    const started = Date.now()
    await p.waitForData(4n, 20)
    expect(Date.now() - started).toBeGreaterThanOrEqual(15)
    await logs.deleteTopic('t')
    expect(logs.partition('t', 0)).toBeUndefined()
    await logs.close()
  })
})
