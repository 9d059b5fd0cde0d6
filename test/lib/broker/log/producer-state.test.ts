import { describe, expect, it } from 'vitest'
import { ProducerStateTable } from '../../../../src/lib/broker/log/producer-state.js'
import { LogError } from '../../../../src/lib/broker/log/types.js'

/** A fake 61-byte batch header carrying only what the table reads. */
function header(producerId: bigint, epoch: number, firstSeq: number, records = 1): Buffer {
  const b = Buffer.alloc(61)
  b.writeInt32BE(records - 1, 23)
  b.writeBigInt64BE(producerId, 43)
  b.writeInt16BE(epoch, 51)
  b.writeInt32BE(firstSeq, 53)
  return b
}

function append(t: ProducerStateTable, buf: Buffer, base: bigint, positions = [0]) {
  const r = t.check(
    buf,
    positions.map((position) => ({ position })),
  )
  if (r?.kind === 'append') r.commit(base, Promise.resolve())
  return r
}

const code = (f: () => unknown) => {
  try {
    f()
  } catch (error) {
    return error instanceof LogError ? error.code : String(error)
  }
  return 'none'
}

describe('ProducerStateTable', () => {
  it('ignores batches without a producer id', () => {
    const t = new ProducerStateTable('t-0')
    expect(append(t, header(-1n, -1, -1), 0n)).toBeNull()
    expect(t.size).toBe(0)
  })

  it('accepts any first sequence for an unknown producer, then only the next one', () => {
    const t = new ProducerStateTable('t-0')
    expect(append(t, header(7n, 0, 40, 3), 10n)?.kind).toBe('append')
    expect(code(() => t.check(header(7n, 0, 44), [{ position: 0 }]))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    expect(code(() => t.check(header(7n, 0, 42), [{ position: 0 }]))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    expect(append(t, header(7n, 0, 43), 13n)?.kind).toBe('append')
  })

  it('finds duplicates by epoch and exact sequence range', () => {
    const t = new ProducerStateTable('t-0')
    append(t, header(7n, 0, 0, 2), 100n)
    expect(t.check(header(7n, 0, 0, 2), [{ position: 0 }])).toMatchObject({
      kind: 'duplicate',
      baseOffset: 100n,
    })
    // same first sequence, other length: not the same batch, and out of order
    expect(code(() => t.check(header(7n, 0, 0, 1), [{ position: 0 }]))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
  })

  it('wraps sequences at 2^31-1', () => {
    const t = new ProducerStateTable('t-0')
    append(t, header(7n, 0, 0x7ffffffe, 2), 0n)
    expect(append(t, header(7n, 0, 0), 2n)?.kind).toBe('append')
  })

  it('checks every batch of a multi-batch append against the ones before it', () => {
    const t = new ProducerStateTable('t-0')
    const two = Buffer.concat([header(7n, 0, 0, 2), header(7n, 0, 2, 1)])
    expect(append(t, two, 50n, [0, 61])?.kind).toBe('append')
    expect(t.check(header(7n, 0, 2), [{ position: 0 }])).toMatchObject({ kind: 'duplicate', baseOffset: 52n })
    const gap = Buffer.concat([header(7n, 0, 3), header(7n, 0, 5)])
    expect(code(() => t.check(gap, [{ position: 0 }, { position: 61 }]))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    // nothing of the refused append was recorded
    expect(append(t, header(7n, 0, 3), 53n)?.kind).toBe('append')
  })

  it('fences older epochs and wants sequence 0 from a new one', () => {
    const t = new ProducerStateTable('t-0')
    append(t, header(7n, 3, 0), 0n)
    expect(code(() => t.check(header(7n, 2, 1), [{ position: 0 }]))).toBe('INVALID_PRODUCER_EPOCH')
    expect(code(() => t.check(header(7n, 4, 1), [{ position: 0 }]))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    expect(append(t, header(7n, 4, 0), 1n)?.kind).toBe('append')
  })
})

describe('ProducerStateTable expiry', () => {
  it('forgets a producer silent for a day, as Kafka with its default producer.id.expiration.ms', () => {
    const day = 24 * 60 * 60 * 1000
    const t = new ProducerStateTable('t-0', 0)
    append(t, header(7n, 0, 0), 0n)
    append(t, header(8n, 0, 0), 1n)
    expect(t.expire(day / 2)).toBe(0)
    append(t, header(8n, 0, 1), 2n) // seen at day/2
    expect(t.expire(day + 1)).toBe(1)
    expect(t.size).toBe(1)
    // the forgotten producer is unknown again: any sequence is accepted, nothing is a duplicate
    expect(t.check(header(7n, 0, 0), [{ position: 0 }])?.kind).toBe('append')
    expect(t.check(header(8n, 0, 1), [{ position: 0 }])?.kind).toBe('duplicate')
  })
})
