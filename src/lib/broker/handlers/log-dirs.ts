import { statfs } from 'node:fs/promises'
import type { Message } from '../../protocol/schema.js'
import { codecHandler } from './codec-handler.js'
import { ErrorCode } from './errors.js'

/**
 * DescribeLogDirs (35) v0-4: the broker's one log directory. As Kafka reports a failed log dir, its
 * errorCode is KAFKA_STORAGE_ERROR while the log cannot write (a full disk); v4 adds the file
 * system's total and usable bytes (statfs of the dir). Topics: every partition's size in bytes
 * (all topics when the request's list is null). `game status` and `game doctor` ask this.
 */
export const describeLogDirsHandler = codecHandler(35, async (ctx, req) => {
  const { logs } = ctx.broker
  const dir = logs.dataDir
  const health = logs.storageHealth?.()
  let totalBytes = -1n
  let usableBytes = -1n
  if (dir !== undefined) {
    try {
      const fs = await statfs(dir, { bigint: true })
      totalBytes = fs.blocks * fs.bsize
      usableBytes = fs.bavail * fs.bsize
    } catch {
      // Leave -1 (unknown), as Kafka does when it cannot tell.
    }
  }
  const wanted = req.topics as Message[] | null
  const names = wanted === null ? logs.topics().map((t) => t.name) : wanted.map((t) => t.topic as string)
  const topics: Message[] = []
  for (const name of names) {
    const info = logs.topic(name)
    if (!info) continue
    const only = wanted?.find((t) => t.topic === name)?.partitions as number[] | undefined
    const indexes = only ?? Array.from({ length: info.partitions }, (_, i) => i)
    const partitions: Message[] = []
    for (const p of indexes) {
      const log = logs.partition(name, p)
      if (log)
        partitions.push({
          partitionIndex: p,
          partitionSize: BigInt(log.sizeBytes()),
          offsetLag: 0n,
          isFutureKey: false,
        })
    }
    topics.push({ name, partitions })
  }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    results: [
      {
        errorCode: health && !health.ok ? ErrorCode.KAFKA_STORAGE_ERROR : 0,
        logDir: dir ?? '(memory)',
        topics,
        totalBytes,
        usableBytes,
      },
    ],
  }
})
