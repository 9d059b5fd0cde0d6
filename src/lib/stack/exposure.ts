/**
 * Who can reach what we listen on. The embedded broker, the WebHDFS gateway and `game api` have no
 * authentication: bound to anything but loopback, everyone who can reach the machine can read,
 * write and delete the lake and produce events. That is allowed, but never silently.
 */

/** True for loopback names and addresses: localhost, 127.0.0.0/8, ::1 (bracketed or not). */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice(7))
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

/** True for a wildcard bind (every interface). */
export function isWildcardHost(host: string): boolean {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1')
  return h === '0.0.0.0' || h === '::' || h === ''
}

/** Pure: the warning for a non-loopback bind of `what`, or undefined for loopback. */
export function exposureWarning(bind: string, what: string): string | undefined {
  if (isLoopbackHost(bind)) return undefined
  const where = isWildcardHost(bind) ? 'on EVERY network interface' : `on ${bind}`
  return `${what} listen ${where} with no authentication: anyone who can reach this machine can use them. Bind to 127.0.0.1 (the default) unless that is what you want.`
}

/** host:port with IPv6 hosts bracketed. */
export function hostPort(host: string, port: number | string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`
}
