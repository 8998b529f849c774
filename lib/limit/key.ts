/**
 * The key a client is rate limited under: an IPv4 address as it is, an IPv6
 * address by its /64 prefix (one subscriber or one server usually owns a whole
 * /64, so counting single addresses would let an attacker rotate through 2^64
 * of them), and `undefined` for a missing peer (`0.0.0.0`) or the unspecified
 * address, which must never be counted as if it were one client.
 *
 * Pure string work on the canonical form the IP resolver produces (dotted
 * quad, RFC 5952 IPv6): no parsing library on the request path. An IPv4
 * address is returned as the same string, so the common case allocates
 * nothing.
 */
export function limiterKey (ip: string): string | undefined {
  if (ip.indexOf(':') === -1) {
    return ip === '0.0.0.0' || ip === '' ? undefined : ip
  }
  if (ip === '::') return undefined
  // An IPv4 client behind a translator (NAT64's 64:ff9b::/96, the old
  // IPv4-compatible ::/96, SIIT's ::ffff:0:0:0/96) is that IPv4 client: all of
  // them in one /64 would make every client behind the translator one key.
  const v4 = embeddedV4(ip)
  if (v4 !== undefined) return v4 === '0.0.0.0' ? undefined : v4

  // `head` is the text of the first four groups (zero groups at its end may
  // be left out: they are dropped below anyway).
  let head: string
  const dc = ip.indexOf('::')
  if (dc === -1) {
    head = ip.slice(0, colonAfter(ip, 0, 4))
  } else {
    const leftGroups = dc === 0 ? 0 : count(ip, 0, dc) + 1
    if (leftGroups >= 4) {
      head = ip.slice(0, colonAfter(ip, 0, 4))
    } else {
      const rs = dc + 2
      // An embedded dotted quad (e.g. 64:ff9b::1.2.3.4) fills two groups.
      const rightGroups = rs === ip.length ? 0 : count(ip, rs, ip.length) + 1 + (ip.indexOf('.', rs) === -1 ? 0 : 1)
      const zeros = 8 - leftGroups - rightGroups
      const need = 4 - leftGroups
      if (zeros >= need) {
        head = ip.slice(0, dc)
      } else {
        // The compressed run ends inside the first four groups: spell it out.
        head = (dc === 0 ? '' : ip.slice(0, dc + 1)) + '0:'.repeat(zeros) + ip.slice(rs, colonAfter(ip, rs, need - zeros))
      }
    }
  }
  return prefix64(head)
}

/** Index of the `n`-th colon at or after `from`, or the string's length when there are fewer. */
function colonAfter (s: string, from: number, n: number): number {
  let i = from - 1
  for (let k = 0; k < n; k++) {
    i = s.indexOf(':', i + 1)
    if (i === -1) return s.length
  }
  return i
}

function count (s: string, from: number, to: number): number {
  let c = 0
  for (let i = from; i < to; i++) if (s.charCodeAt(i) === 58) c++
  return c
}

/**
 * RFC 5952 text of `head::/64`. The last four groups are zero, so that run is
 * always the longest and is the one compressed; it swallows any zero groups
 * at the end of the first four.
 */
function prefix64 (head: string): string {
  return prefixKey(head, '::/64')
}

function prefixKey (head: string, tail: string): string {
  let end = head.length
  // Drop trailing groups that are exactly "0" (":0", or a lone "0" at the start).
  while (end >= 2 && head.charCodeAt(end - 1) === 48 && head.charCodeAt(end - 2) === 58) end -= 2
  if (end === 1 && head.charCodeAt(0) === 48) end = 0
  if (end === 0) return tail
  return (end === head.length ? head : head.slice(0, end)) + tail
}

/**
 * The /48 of an IPv6 limiter key: `2001:db8:1:2::/64` gives `2001:db8:1::/48`
 * (RFC 5952, like the /64 key). A /48 is what one site is given (RFC 6177),
 * so whoever rotates through its 65 536 /64s is counted there too. Only for
 * keys `limiterKey` made from an IPv6 address (see isKey64): their text is the
 * first four groups written out, trailing zero groups dropped, then `::/64`.
 */
export function siteKey (key64: string): string {
  const head = key64.slice(0, key64.length - 5)
  return prefixKey(head.slice(0, colonAfter(head, 0, 3)), '::/48')
}

/** True for an IPv6 /64 key of `limiterKey` (an IPv4 key never holds a '/'). O(1). */
export function isKey64 (key: string): boolean {
  const n = key.length
  return n > 4 && key.charCodeAt(n - 3) === 47 && key.charCodeAt(n - 2) === 54 && key.charCodeAt(n - 1) === 52
}

/** True for a /48 key of `siteKey`. O(1). */
export function isKey48 (key: string): boolean {
  const n = key.length
  return n > 4 && key.charCodeAt(n - 3) === 47 && key.charCodeAt(n - 2) === 52 && key.charCodeAt(n - 1) === 56
}

// Prefixes whose last 32 bits are an IPv4 address, as RFC 5952 writes them.
const EMBEDDING = ['64:ff9b::', '::ffff:0:', '::']

/** The IPv4 address an IPv6 address of a translation prefix carries, dotted; undefined for any other address. */
function embeddedV4 (ip: string): string | undefined {
  for (const prefix of EMBEDDING) {
    if (!ip.startsWith(prefix)) continue
    const rest = ip.slice(prefix.length)
    if (rest.indexOf('.') !== -1) return rest.indexOf(':') === -1 ? rest : undefined
    const groups = rest === '' ? [] : rest.split(':')
    if (groups.length === 0 || groups.length > 2 || groups.some((g) => g.length === 0 || g.length > 4)) return undefined
    const hi = groups.length === 2 ? parseInt(groups[0] as string, 16) : 0
    const lo = parseInt(groups[groups.length - 1] as string, 16)
    if (!(hi >= 0 && hi <= 0xffff && lo >= 0 && lo <= 0xffff)) return undefined
    // ::1 (loopback) and the unspecified address are not translated clients.
    if (prefix === '::' && hi === 0 && lo <= 1) return undefined
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  }
  return undefined
}
