// Type declarations for the two pure-JS codecs that ship none (see docs/stream.md, Compression).
declare module 'snappyjs' {
  export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array
  export function compress(uncompressed: Uint8Array): Uint8Array
}
declare module 'lz4js' {
  /** Decodes one LZ4 block src[sIndex, sIndex + sLength) into dst from dIndex; returns the new dIndex. */
  export function decompressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    dIndex: number,
  ): number
  export function compress(src: Uint8Array, maxSize?: number): Uint8Array
  export function decompress(src: Uint8Array, maxSize?: number): Uint8Array
}
