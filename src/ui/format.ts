/** 1536 → "1.5 KiB". Pure; one implementation for lib and ui (src/lib/bytes.ts). */
export { formatBytes } from '../lib/bytes.js'
