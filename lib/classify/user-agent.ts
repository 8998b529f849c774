// Second 404-independent signal: a user agent that names an attack tool. The
// event carries the tool's family as `ua_class` (e.g. "sqlmap"); the ingest
// decides what to do with it.
//
// This runs on every request. Real traffic repeats a few hundred user agents,
// so answers are remembered in a small bounded map (a hit costs one string
// hash and compare, about a tenth of a match). A miss runs one precompiled
// regular expression over a capped prefix: alternatives of literals only, no
// quantifier at all, so nothing to backtrack. (A word-hashing loop in
// JavaScript was measured and was slower than V8's native regexp code.)
//
// Deliberately absent: generic clients (curl, Wget, python-requests, httpx,
// Go-http-client, okhttp, axios, node-fetch, undici, Java, libwww-perl),
// uptime checkers (UptimeRobot, Pingdom, StatusCake, Better Uptime) and
// search engine or research crawlers (Googlebot, bingbot, Censys). A tool is
// named only when its default user agent says so: a scanner that mimics a
// browser is caught by what it requests, not by this.

import { jsonString, MAX_HEADER_TEXT } from '../events/line'
import { clip } from '../events/sanitize'

/** Characters of the user agent examined. Tool names sit near the start. */
export const MAX_UA_EXAMINED = 512

/** Tool family (the reported name) and the tokens that identify it in a user agent, lowercase. */
export const attackTools: ReadonlyArray<readonly [family: string, tokens: readonly string[]]> = [
  ['sqlmap', ['sqlmap']],
  ['nikto', ['nikto']],
  ['nuclei', ['nuclei']],
  ['zgrab', ['zgrab']],
  ['masscan', ['masscan']],
  ['wpscan', ['wpscan']],
  ['gobuster', ['gobuster']],
  ['ffuf', ['fuzz faster u fool', 'ffuf']],
  ['dirbuster', ['dirbuster']],
  ['dirb', ['dirb/', '(dirb)']],
  ['dirsearch', ['dirsearch']],
  ['feroxbuster', ['feroxbuster']],
  ['wfuzz', ['wfuzz']],
  ['nmap', ['nmap scripting engine', 'nmap nse', 'nmap/']],
  ['zmeu', ['zmeu']],
  ['morfeus', ['morfeus']],
  ['jorgee', ['jorgee']],
  ['acunetix', ['acunetix']],
  ['netsparker', ['netsparker', 'invicti']],
  ['appscan', ['appscan']],
  ['webinspect', ['webinspect']],
  ['nessus', ['nessus']],
  ['openvas', ['openvas']],
  ['w3af', ['w3af']],
  ['skipfish', ['skipfish']],
  ['arachni', ['arachni']],
  ['wapiti', ['wapiti']],
  ['whatweb', ['whatweb']],
  ['havij', ['havij']],
  ['commix', ['commix']],
  ['xsstrike', ['xsstrike']],
  ['jaeles', ['jaeles']],
  ['fimap', ['fimap']],
  ['dotdotpwn', ['dotdotpwn']],
  ['hydra', ['thc-hydra', '(hydra)']],
  ['sqlninja', ['sqlninja']],
  ['zap', ['owasp zap', 'zaproxy']],
  ['burp', ['burp collaborator', 'burpsuite', 'burp suite']],
  ['leakix', ['l9explore', 'l9tcpid', 'leakix']],
  ['projectdiscovery', ['projectdiscovery', 'interactsh']],
  ['chaitin', ['chaitin']],
  ['blackwidow', ['blackwidow']],
  ['pangolin', ['pangolin']],
  ['joomscan', ['joomscan']],
  ['droopescan', ['droopescan']],
  ['cmsmap', ['cmsmap']],
  ['scanner-generic', ['muieblackcat', 'webshag', 'uniscan', 'golismero', 'vooki', 'nstalker', 'n-stealth',
    'medusa/', 'metasploit', 'struts-pwn', 'log4shell', 'jndi:']]
]

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

const familyOfToken = new Map<string, string>()
for (const [family, tokens] of attackTools) {
  for (const t of tokens) familyOfToken.set(t, family)
}
// Longest tokens first, so that `fuzz faster u fool` wins over a shorter one.
const TOOL_RE = new RegExp(
  [...familyOfToken.keys()].sort((a, b) => b.length - a.length).map(escape).join('|'),
  'i'
)

/** User agents whose answer is remembered; the map is emptied when full (random user agents cannot grow it). */
export const UA_CACHE_SIZE = 512

/** What the event needs from a user agent: the attack tool it names, and its JSON text on the wire. */
export interface UserAgentInfo {
  /** The user agent itself. */
  readonly ua: string
  readonly uaClass: string | undefined
  /** It calls itself a crawler or a monitor (`bot`, `crawl`, `spider`, `kube-probe`, `Prometheus` ...): left out of the behaviour limits and of certainFromNonBrowsers (request/finish.ts). */
  readonly crawler: boolean
  readonly json: string
}

// Crawlers and monitors name themselves so (a health checker or a metrics
// scraper pointed at a wrong path asks for it every few seconds); a scanner
// that borrows the name is left to the probe families.
const CRAWLER_RE = /bot|crawl|spider|slurp|archiver|facebookexternalhit|mediapartners|kube-probe|prometheus|telegraf|datadog|newrelic|uptimerobot|pingdom|statuscake|elb-healthchecker|googlehc|site24x7|zabbix|nagios|check_http/i

const remembered = new Map<string, UserAgentInfo>()

/**
 * The attack-tool verdict and the escaped, clipped JSON text of a user agent,
 * remembered per UA string: most requests repeat a few browser user agents,
 * and the regex plus the escape test cost more than the lookup.
 */
export function userAgentInfo (ua: string): UserAgentInfo {
  const known = remembered.get(ua)
  if (known !== undefined) return known
  const long = ua.length > MAX_UA_EXAMINED
  const examined = long ? ua.slice(0, MAX_UA_EXAMINED) : ua
  const m = ua.length === 0 ? null : TOOL_RE.exec(examined)
  const info: UserAgentInfo = {
    ua,
    uaClass: m === null ? undefined : familyOfToken.get(m[0].toLowerCase()),
    crawler: CRAWLER_RE.test(examined),
    json: jsonString(clip(ua, MAX_HEADER_TEXT))
  }
  // Long user agents are not kept: the map holds at most UA_CACHE_SIZE short strings.
  if (!long) {
    if (remembered.size >= UA_CACHE_SIZE) remembered.clear()
    remembered.set(ua, info)
  }
  return info
}

/**
 * Returns the attack tool family named by a user agent (e.g. `"sqlmap"`), or
 * undefined for ordinary browsers, libraries, monitors and crawlers.
 */
export function classifyUserAgent (ua: string | undefined): string | undefined {
  if (typeof ua !== 'string' || ua.length === 0) return undefined
  return userAgentInfo(ua).uaClass
}
