import { splitBatches } from './log/batch.js'
import { DEFAULT_TOPIC_CONFIG } from './log/manager.js'
import { ProducerStateTable } from './log/producer-state.js'
import {
  type AppendResult,
  type CommittedOffset,
  type GroupOffsetStore,
  isValidTopicName,
  LogError,
  type LogManager,
  newTopicId,
  type PartitionLog,
  type ReadResult,
  type TopicConfig,
  type TopicInfo,
} from './log/types.js'

/**
 * An in-memory LogManager: the same contract as the disk log (validation, offsets, waits), no
 * files. For unit tests and as a stand-in; nothing survives close().
 */

interface StoredBatch {
  baseOffset: bigint
  lastOffset: bigint
  maxTimestamp: bigint
  data: Buffer
}

class Waiters {
  private list = new Set<{ offset: bigint; done: () => void }>()

  wait(hw: () => bigint, offset: bigint, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (hw() > offset || timeoutMs <= 0 || signal?.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      const entry = {
        offset,
        done: () => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', entry.done)
          this.list.delete(entry)
          resolve()
        },
      }
      const timer = setTimeout(entry.done, timeoutMs)
      signal?.addEventListener('abort', entry.done, { once: true })
      this.list.add(entry)
    })
  }

  wake(hw: bigint): void {
    for (const w of this.list) if (hw > w.offset) w.done()
  }

  wakeAll(): void {
    for (const w of this.list) w.done()
  }
}

class MemoryPartition implements PartitionLog {
  private batches: StoredBatch[] = []
  private next = 0n
  private start = 0n
  private bytes = 0
  readonly waiters = new Waiters()
  private readonly producers: ProducerStateTable

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly config: TopicConfig,
  ) {
    this.producers = new ProducerStateTable(`${topic}-${partition}`)
  }

  logStartOffset(): bigint {
    return this.start
  }

  highWatermark(): bigint {
    return this.next
  }

  async append(batches: Buffer): Promise<AppendResult> {
    const spans = splitBatches(batches)
    const producer = this.producers.check(batches, spans)
    if (producer?.kind === 'duplicate') return { baseOffset: producer.baseOffset, logStartOffset: this.start }
    const baseOffset = this.next
    producer?.commit(baseOffset, Promise.resolve())
    for (const h of spans) {
      const data = Buffer.allocUnsafe(h.size)
      batches.copy(data, 0, h.position, h.position + h.size)
      data.writeBigInt64BE(this.next, 0)
      data.writeInt32BE(0, 12)
      const lastOffset = this.next + BigInt(h.lastOffsetDelta)
      this.batches.push({ baseOffset: this.next, lastOffset, maxTimestamp: h.maxTimestamp, data })
      this.bytes += h.size
      this.next = lastOffset + 1n
    }
    this.retain()
    this.waiters.wake(this.next)
    return { baseOffset, logStartOffset: this.start }
  }

  async deleteRecordsBefore(offset: bigint): Promise<bigint> {
    const target = offset === -1n ? this.next : offset
    if (target < 0n || target > this.next)
      throw new LogError('OFFSET_OUT_OF_RANGE', `offset ${offset} is past the high watermark ${this.next}`)
    if (target > this.start) {
      this.start = target
      while (this.batches.length > 1 && this.batches[0].lastOffset < target) {
        this.bytes -= this.batches.shift()!.data.length
      }
    }
    return this.start
  }

  private retain(): void {
    const { retentionBytes } = this.config
    while (retentionBytes >= 0 && this.bytes > retentionBytes && this.batches.length > 1) {
      const dropped = this.batches.shift()!
      this.bytes -= dropped.data.length
      this.start = this.batches[0].baseOffset
    }
  }

  private indexOf(offset: bigint): number {
    let lo = 0
    let hi = this.batches.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.batches[mid].lastOffset < offset) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  async read(offset: bigint, maxBytes: number): Promise<ReadResult> {
    if (offset < this.start || offset > this.next) {
      throw new LogError('OFFSET_OUT_OF_RANGE', `offset ${offset} outside [${this.start}, ${this.next}]`)
    }
    const parts: Buffer[] = []
    let size = 0
    if (offset < this.next) {
      for (let i = this.indexOf(offset); i < this.batches.length; i++) {
        const b = this.batches[i].data
        if (parts.length > 0 && size + b.length > maxBytes) break
        parts.push(b)
        size += b.length
      }
    }
    const records = parts.length === 1 ? parts[0] : Buffer.concat(parts, size)
    return { records, highWatermark: this.next, logStartOffset: this.start }
  }

  async offsetForTimestamp(timestamp: bigint): Promise<{ offset: bigint; timestamp: bigint } | null> {
    for (const b of this.batches) {
      if (b.maxTimestamp >= timestamp) return { offset: b.baseOffset, timestamp: b.maxTimestamp }
    }
    return null
  }

  waitForData(offset: bigint, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.waiters.wait(() => this.next, offset, timeoutMs, signal)
  }

  sizeBytes(): number {
    return this.bytes
  }
}

class MemoryOffsets implements GroupOffsetStore {
  private offsets = new Map<
    string,
    Map<string, { topic: string; partition: number; value: CommittedOffset }>
  >()
  private generations = new Map<string, number>()

  async commit(group: string, topic: string, partition: number, value: CommittedOffset): Promise<void> {
    await this.commitMany(group, [{ topic, partition, value }])
  }

  async commitMany(
    group: string,
    entries: { topic: string; partition: number; value: CommittedOffset }[],
  ): Promise<void> {
    let g = this.offsets.get(group)
    if (!g) this.offsets.set(group, (g = new Map()))
    for (const e of entries) g.set(`${e.topic}\u0000${e.partition}`, { ...e })
  }

  fetch(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(group)?.get(`${topic}\u0000${partition}`)?.value
  }

  fetchAll(group: string): { topic: string; partition: number; value: CommittedOffset }[] {
    return [...(this.offsets.get(group)?.values() ?? [])]
  }

  groups(): string[] {
    return [...this.offsets.keys()]
  }

  lastGeneration(group: string): number {
    return this.generations.get(group) ?? 0
  }

  async setGeneration(group: string, generation: number): Promise<void> {
    this.generations.set(group, generation)
  }

  async deleteGroup(group: string): Promise<void> {
    this.offsets.delete(group)
    this.generations.delete(group)
  }

  async deleteTopic(topic: string): Promise<void> {
    for (const g of this.offsets.values()) {
      for (const [k, e] of g) if (e.topic === topic) g.delete(k)
    }
  }
}

export interface MemoryLogOptions {
  defaultTopicConfig?: Partial<TopicConfig>
}

/** An in-memory LogManager with the disk log's contract. */
export function openMemoryLogManager(options: MemoryLogOptions = {}): LogManager {
  const defaults: TopicConfig = { ...DEFAULT_TOPIC_CONFIG, ...options.defaultTopicConfig }
  const topics = new Map<string, { info: TopicInfo; partitions: MemoryPartition[] }>()
  const offsets = new MemoryOffsets()
  return {
    topics: () => [...topics.values()].map((t) => t.info),
    topic: (name) => topics.get(name)?.info,
    async createTopic(name, partitions, config) {
      if (!isValidTopicName(name)) throw new LogError('INVALID_TOPIC', `invalid topic name "${name}"`)
      if (!Number.isInteger(partitions) || partitions <= 0 || partitions > 10_000) {
        throw new LogError('INVALID_PARTITIONS', `invalid partition count ${partitions}`)
      }
      if (topics.has(name)) throw new LogError('TOPIC_ALREADY_EXISTS', `topic "${name}" already exists`)
      const info: TopicInfo = { name, id: newTopicId(), partitions, config: { ...defaults, ...config } }
      const parts = Array.from({ length: partitions }, (_, i) => new MemoryPartition(name, i, info.config))
      topics.set(name, { info, partitions: parts })
      return info
    },
    async deleteTopic(name) {
      const t = topics.get(name)
      if (!t) throw new LogError('UNKNOWN_TOPIC_OR_PARTITION', `unknown topic "${name}"`)
      topics.delete(name)
      for (const p of t.partitions) p.waiters.wakeAll()
      await offsets.deleteTopic(name)
    },
    async createPartitions(name, total) {
      const t = topics.get(name)
      if (!t) throw new LogError('UNKNOWN_TOPIC_OR_PARTITION', `unknown topic "${name}"`)
      if (!Number.isInteger(total) || total <= t.info.partitions || total > 10_000)
        throw new LogError(
          'INVALID_PARTITIONS',
          `topic ${name} has ${t.info.partitions} partitions; got ${total}`,
        )
      for (let i = t.info.partitions; i < total; i++)
        t.partitions.push(new MemoryPartition(name, i, t.info.config))
      t.info.partitions = total
      return t.info
    },
    partition: (topic, partition) => topics.get(topic)?.partitions[partition],
    offsets,
    async close() {
      for (const t of topics.values()) for (const p of t.partitions) p.waiters.wakeAll()
    },
  }
}
