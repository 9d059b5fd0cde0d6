/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slice-by-8. RecordBatch v2 carries this
 * checksum over bytes 21..end, and the group offsets log frames use it too. `zlib.crc32` is the
 * IEEE polynomial, so it cannot be used here.
 */

const POLY = 0x82f63b78

/** 8 tables of 256 entries: T[k][b] is the CRC of byte b followed by k zero bytes. */
const TABLES: Uint32Array = (() => {
  const t = new Uint32Array(8 * 256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    t[n] = c >>> 0
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff] ^ (c >>> 8)
      t[k * 256 + n] = c >>> 0
    }
  }
  return t
})()

/**
 * CRC-32C of `buf[start, end)`. Pass a previous result as `crc` to continue a running checksum.
 * Returns an unsigned 32-bit number.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  const t = TABLES
  let c = ~crc >>> 0
  let i = start
  const end8 = end - ((end - start) & 7)
  while (i < end8) {
    const lo = (c ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24))) >>> 0
    c =
      t[1792 + (lo & 0xff)] ^
      t[1536 + ((lo >>> 8) & 0xff)] ^
      t[1280 + ((lo >>> 16) & 0xff)] ^
      t[1024 + (lo >>> 24)] ^
      t[768 + buf[i + 4]] ^
      t[512 + buf[i + 5]] ^
      t[256 + buf[i + 6]] ^
      t[buf[i + 7]]
    i += 8
  }
  while (i < end) c = t[(c ^ buf[i++]) & 0xff] ^ (c >>> 8)
  return ~c >>> 0
}
