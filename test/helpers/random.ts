/**
 * A small seeded generator for property and fuzz tests (the classic LCG: same seed, same run), so a
 * failure reproduces.
 */
export function seededRandom(seed: number): { int(n: number): number; pick<T>(xs: readonly T[]): T } {
  let s = seed
  const int = (n: number) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff
    return s % n
  }
  return { int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] }
}
