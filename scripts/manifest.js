#!/usr/bin/env node
// Writes oclif.manifest.json after a build, so that `game <command>` loads only that command's
// module instead of importing every command at start-up (what the `oclif manifest` tool does,
// without its large dependency tree).
import { rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Config } from '@oclif/core'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const file = path.join(root, 'oclif.manifest.json')
rmSync(file, { force: true }) // never build a manifest from a stale manifest
const config = await Config.load(root)
const plugin = config.getPluginsList().find((p) => p.root === root) ?? config.getPluginsList()[0]
const manifest = plugin.manifest
if (!manifest?.commands || Object.keys(manifest.commands).length === 0) {
  throw new Error('no commands found: run the TypeScript build first')
}
writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`)
process.stderr.write(`oclif.manifest.json: ${Object.keys(manifest.commands).length} commands\n`)
