import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { FileLake } from '../../../src/lib/lake/file-lake.js'
import { lakeContract } from './open-lake-contract.js'

lakeContract('file-lake', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'game-file-lake-'))
  return {
    lake: new FileLake(pathToFileURL(dir).href),
    close: () => fs.rm(dir, { recursive: true, force: true }),
  }
})

describe('FileLake specifics', () => {
  it('exposes local paths for DuckDB and leaves no temp files behind', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'game-file-lake-'))
    try {
      const lake = new FileLake(pathToFileURL(dir).href)
      expect(lake.localPath('a/b.parquet')).toBe(path.join(dir, 'a', 'b.parquet'))
      expect(lake.localPath('')).toBe(dir)
      await lake.writeFile('a/b.parquet', 'x')
      await lake.writeFile('a/b.parquet', 'y', { overwrite: true })
      await lake.writeFile('a/b.parquet', 'z').catch(() => {})
      expect(await fs.readdir(path.join(dir, 'a'))).toEqual(['b.parquet'])
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  })
})
