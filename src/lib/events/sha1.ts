/**
 * SHA-1 (FIPS 180-4) of short inputs, in plain JS: for derived event ids, where a call into
 * node:crypto per event (~1.2 µs, most of it crossing into C++ for 20-odd bytes) was the stream's
 * largest cost on seed-format events. Not for anything secret: SHA-1 here is only a deterministic
 * spread of (topic, partition, offset), as it always was. test/lib/events/sha1.test.ts checks it
 * against node:crypto on every length across the block boundaries.
 */

const W = new Int32Array(80)
/** Input plus padding; grows for long inputs. */
let block = new Uint8Array(128)
const encoder = new TextEncoder()

/** The 20-byte digest of `data` (a string is UTF-8 encoded) into out[0..20). */
export function sha1Into(data: string, out: Uint8Array): void {
  // Worst case 3 bytes per UTF-16 unit, plus padding.
  const need = data.length * 3 + 72
  if (block.length < need) block = new Uint8Array(need * 2)
  const len = encoder.encodeInto(data, block).written
  const bits = len * 8
  let padded = len + 1
  while (padded % 64 !== 56) padded++
  block[len] = 0x80
  block.fill(0, len + 1, padded + 8)
  // Bit length, big-endian 64-bit (inputs here are far below 2^32 bits).
  block[padded + 4] = (bits >>> 24) & 0xff
  block[padded + 5] = (bits >>> 16) & 0xff
  block[padded + 6] = (bits >>> 8) & 0xff
  block[padded + 7] = bits & 0xff
  let h0 = 0x67452301
  let h1 = 0xefcdab89 | 0
  let h2 = 0x98badcfe | 0
  let h3 = 0x10325476
  let h4 = 0xc3d2e1f0 | 0
  for (let at = 0; at < padded + 8; at += 64) {
    for (let t = 0; t < 16; t++) {
      const i = at + t * 4
      W[t] = (block[i] << 24) | (block[i + 1] << 16) | (block[i + 2] << 8) | block[i + 3]
    }
    for (let t = 16; t < 80; t++) {
      const x = W[t - 3] ^ W[t - 8] ^ W[t - 14] ^ W[t - 16]
      W[t] = (x << 1) | (x >>> 31)
    }
    let a = h0
    let b = h1
    let c = h2
    let d = h3
    let e = h4
    for (let t = 0; t < 80; t++) {
      let f: number
      let k: number
      if (t < 20) {
        f = (b & c) | (~b & d)
        k = 0x5a827999
      } else if (t < 40) {
        f = b ^ c ^ d
        k = 0x6ed9eba1
      } else if (t < 60) {
        f = (b & c) | (b & d) | (c & d)
        k = 0x8f1bbcdc | 0
      } else {
        f = b ^ c ^ d
        k = 0xca62c1d6 | 0
      }
      const temp = (((a << 5) | (a >>> 27)) + f + e + k + W[t]) | 0
      e = d
      d = c
      c = (b << 30) | (b >>> 2)
      b = a
      a = temp
    }
    h0 = (h0 + a) | 0
    h1 = (h1 + b) | 0
    h2 = (h2 + c) | 0
    h3 = (h3 + d) | 0
    h4 = (h4 + e) | 0
  }
  put32(out, 0, h0)
  put32(out, 4, h1)
  put32(out, 8, h2)
  put32(out, 12, h3)
  put32(out, 16, h4)
}

/** A 32-bit word, big-endian, at out[at..at+4). */
function put32(out: Uint8Array, at: number, v: number): void {
  out[at] = (v >>> 24) & 0xff
  out[at + 1] = (v >>> 16) & 0xff
  out[at + 2] = (v >>> 8) & 0xff
  out[at + 3] = v & 0xff
}
