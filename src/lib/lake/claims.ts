import { GameError } from '../errors.js'
import { claimBase, claimDir, claimPath, claimTopicDir, INITIAL_BASE, parseClaimName } from './layout.js'
import type { Lake } from './types.js'

/**
 * Partition claims: the fence of the stream's commits (the scheme is in layout.ts, "Partition
 * claims"). A claim is one small file created if absent; winning it is the right to publish one
 * partition's range that starts at `base`.
 */
export interface ClaimRequest {
  topic: string
  /** The topic's id, when known: claims are per topic incarnation. */
  topicId?: string
  partition: number
  /** The lake's resume offset the range starts at (undefined: the lake has none for the partition). */
  base: bigint | undefined
  commitId: string
}

export interface ClaimContext {
  leaseMs: number
  now(): number
  /** The lake's resume offset of a partition now (read lazily: only for an old claim). */
  lakeResume(partition: number): Promise<bigint | undefined>
}

/** Whether a claim's base is behind the lake (its range, or a later one, was published). */
export function spentBase(base: bigint | undefined, resume: bigint | undefined): boolean {
  return resume !== undefined && (base === undefined || base < resume)
}

function alreadyExists(error: unknown): boolean {
  return error instanceof GameError && error.code === 'LAKE_ALREADY_EXISTS'
}

/** Attempts per base before giving up (each one is an orphan a dead writer left: a handful at most). */
const MAX_ATTEMPTS = 1000

/**
 * Tries to claim a partition's range. Returns the claim's path when won; undefined when another
 * writer holds it (it committed, or is about to within its lease).
 */
export async function claimRange(
  lake: Lake,
  req: ClaimRequest,
  ctx: ClaimContext,
): Promise<string | undefined> {
  const base = claimBase(req.base)
  const body = `${JSON.stringify({ commitId: req.commitId, claimedAt: new Date(ctx.now()).toISOString() })}\n`
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const path = claimPath(req.topic, req.partition, base, attempt, req.topicId)
    try {
      await lake.writeFile(path, body, { overwrite: false })
      return path
    } catch (error) {
      if (!alreadyExists(error)) throw error
    }
    const held = await lake.stat(path)
    // Gone: cleaned up as spent, so the lake moved past this base.
    if (!held) return undefined
    if (ctx.now() - held.mtime < ctx.leaseMs) return undefined
    if (spentBase(req.base, await ctx.lakeResume(req.partition))) return undefined
    // An orphan (its writer died between claim and commit): supersede it with the next attempt.
  }
  return undefined
}

/** Deletes a claim this writer won but will not commit (never one it did not create). */
export async function releaseClaim(lake: Lake, path: string): Promise<void> {
  await lake.delete(path).catch(() => false)
}

/**
 * Deletes spent claims (base below the lake's resume offset) older than `olderThanMs`: one
 * listing per partition. Returns the paths deleted.
 */
export async function cleanClaims(
  lake: Lake,
  topic: string,
  resume: ReadonlyMap<number, bigint>,
  olderThanMs: number,
  now: number,
  topicId?: string,
): Promise<string[]> {
  const deleted: string[] = []
  const topicDir = claimTopicDir(topic, topicId)
  for (const dir of await lake.list(topicDir)) {
    const partition = Number(dir.name)
    if (dir.type !== 'dir' || !Number.isInteger(partition)) continue
    const at = resume.get(partition)
    for (const entry of await lake.list(claimDir(topic, partition, topicId))) {
      const claim = parseClaimName(entry.name)
      if (!claim || now - entry.mtime < olderThanMs) continue
      if (!spentBase(claim.base === INITIAL_BASE ? undefined : claim.offset, at)) continue
      if (await lake.delete(entry.path).catch(() => false)) deleted.push(entry.path)
    }
  }
  return deleted
}
