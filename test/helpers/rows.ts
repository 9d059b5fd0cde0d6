import { open, rm } from 'node:fs/promises'
import path from 'node:path'
import type { TableName } from '../../src/lib/events/catalog.js'
import type { RoutedRow } from '../../src/lib/events/route.js'
import type { ParquetWriter, SkipOffsets, WrittenFile } from '../../src/lib/lake/parquet.js'
import type { RowBuffer } from '../../src/lib/stream/buffer.js'

/**
 * Test helpers that feed rows the way the code before MessageEncoder did (formerly RowBuffer.add and
 * ParquetWriter.writeRows/writeNdjsonFiles in src: only tests used them).
 */

/** Adds the routed rows of one message to a buffer as NDJSON lines (`__p`/`__o` appended); a row in two tables is one line. */
export function addRows(buffer: RowBuffer, partition: number, rows: RoutedRow[], offset = -1): void {
  for (let i = 0; i < rows.length; ) {
    const row = rows[i].row
    const tables: TableName[] = []
    while (i < rows.length && rows[i].row === row) tables.push(rows[i++].table)
    const json = JSON.stringify(row)
    buffer.addLine(
      partition,
      tables,
      String(row.dt),
      `${json.slice(0, -1)},"__p":${partition},"__o":${offset}}`,
    )
  }
}

/** Converts local NDJSON files of one table into one local Parquet file, leaving out `skip`ped rows. */
export function writeNdjsonFiles(
  writer: ParquetWriter,
  table: TableName,
  ndjsonPaths: string[],
  outPath: string,
  skip?: SkipOffsets,
): Promise<WrittenFile> {
  return writer.writeFiles(table, { json: ndjsonPaths, csv: [] }, outPath, skip)
}

/** Writes NDJSON lines of one table into a local Parquet file (through a temp NDJSON file). */
export async function writeRows(
  writer: ParquetWriter,
  table: TableName,
  lines: string[],
  outPath: string,
): Promise<WrittenFile> {
  const tmp = path.join(path.dirname(outPath), `${path.basename(outPath)}.ndjson`)
  const fh = await open(tmp, 'w')
  try {
    await fh.write(lines.length > 0 ? `${lines.join('\n')}\n` : '')
  } finally {
    await fh.close()
  }
  try {
    return await writeNdjsonFiles(writer, table, [tmp], outPath)
  } finally {
    await rm(tmp, { force: true })
  }
}
