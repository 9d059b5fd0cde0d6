import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from './helpers/cli.js'

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')

describe('README', () => {
  it('gives the two fresh-machine commands on its first screen', () => {
    const firstScreen = readme.split('\n').slice(0, 30).join('\n')
    expect(firstScreen).toContain('npm ci && npx game demo')
    expect(firstScreen).toContain('npm test')
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
    expect(pkg.bin.game).toBe('./bin/run.js')
    expect(readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')).toContain('npm test')
  })

  it('has a command reference that matches the commands (npm run readme regenerates it)', () => {
    const generated = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'command-reference.js')], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim()
    const begin = readme.indexOf('<!-- commands:begin')
    const end = readme.indexOf('<!-- commands:end -->')
    expect(begin).toBeGreaterThan(0)
    const inReadme = readme.slice(readme.indexOf('\n', begin) + 1, end).trim()
    expect(inReadme).toBe(generated)
  })

  it('documents every exit code', () => {
    for (const code of ['0', '1', '2', '3', '4', '5', '130'])
      expect(readme).toMatch(new RegExp(`\\|\\s*${code}\\s*\\|`))
  })
})
