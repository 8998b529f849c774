// Padding must not hide a probe (lib/classify/limits.ts). A server collapses
// `//`, `/./` and `seg/..` (encoded or not) before it serves a path, so a
// padded probe reaches the same file as the bare one: the classifier collapses
// them before it counts anything, and must give the padded probe the bare
// probe's verdict (same rule, same certainty). In the query, a long parameter
// must not hide the ones after it. Length alone never makes a scanner:
// legitimate long URLs stay unknown, and a hostile 100 kB target is still
// classified, at a bounded cost.
// Injection payloads such as `${jndi:` are literal text here, not templates.
/* eslint-disable no-template-curly-in-string */
import t from 'tap'
import { classifyPathVerdict } from '../lib/classify/classify'
import { normalizePath } from '../lib/classify/normalize-path'
import { MAX_EXAMINED, MAX_PARAMS, MAX_QUERY_EXAMINED, MAX_READ, MAX_SEGMENTS } from '../lib/classify/limits'

const verdictOf = (target: string): string => {
  const v = classifyPathVerdict(target)
  return `${v.classification} ${String(v.rule)} ${v.certain ? 'certain' : 'not certain'}`
}

// [padded target, the bare probe it must be classified as]
const padded: Array<[string, string]> = [
  // The adversarial review's rows.
  ['/.'.repeat(300) + '/.env', '/.env'],
  ['/'.repeat(300) + '.env', '/.env'],
  ['/x/..'.repeat(150) + '/.git/config', '/.git/config'],
  ['/?' + 'a'.repeat(1000) + '=${jndi:ldap://x}', '/?a=${jndi:ldap://x}'],
  ['/?q=' + 'a'.repeat(3000) + '&x=../../etc/passwd', '/?x=../../etc/passwd'],
  // Mixed padding.
  ['/' + '/./'.repeat(200) + '/x/../'.repeat(100) + '//.env', '/.env'],
  ['/././/' + 'abc/def/../../'.repeat(100) + 'wp-config.php.bak', '/wp-config.php.bak'],
  ['/' + '/'.repeat(1000) + '.git' + '/./'.repeat(300) + 'config', '/.git/config'],
  ['/' + 'a'.repeat(400) + '/..' + '/' + 'b'.repeat(400) + '/../.aws/credentials', '/.aws/credentials'],
  ['/' + 'seg/'.repeat(100) + '../'.repeat(100) + 'etc/passwd', '/etc/passwd'],
  ['/' + 'x/'.repeat(200) + '../'.repeat(200) + '.env', '/.env'],
  // Encoded padding: `%2f%2f`, `%2e`, backslashes.
  ['/' + '%2f'.repeat(400) + '.env', '/.env'],
  ['/' + '%2F%2f'.repeat(300) + '.git/config', '/.git/config'],
  ['/' + '%2e%2f'.repeat(300) + '.env', '/.env'],
  ['/' + '\\'.repeat(700) + '.env', '/.env'],
  ['/' + '%252f'.repeat(300) + '.env', '/.env'],
  // Padding in the query before a payload: a long value, a long name, many parameters, empty ones.
  ['/index.php?x=' + 'a'.repeat(600) + '&cmd=;id;', '/index.php?cmd=;id;'],
  ['/?utm_source=' + 'b'.repeat(2000) + '&file=php://filter/resource=index.php', '/?file=php://filter/resource=index.php'],
  ['/?' + 'p=1&'.repeat(200) + 'x=${jndi:ldap://x}', '/?x=${jndi:ldap://x}'],
  ['/?' + '&'.repeat(5000) + 'x=../../etc/passwd', '/?x=../../etc/passwd'],
  ['/?a=' + '%41'.repeat(900) + '&x=%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/?x=../../etc/passwd'],
  ['/?' + 'a'.repeat(3000) + '&x=<script>alert(1)</script>', '/?x=<script>alert(1)</script>'],
  ['/search?q=' + 'z'.repeat(1500) + '&id=1 union select null,null--', '/search?id=1 union select null,null--'],
  // Padding in the path and the query at once.
  ['/'.repeat(700) + 'index.php?x=' + 'a'.repeat(700) + '&page=../../../etc/passwd', '/index.php?page=../../../etc/passwd']
]

t.test('padded probes classify as the bare probe does', async (t) => {
  for (const [target, bare] of padded) {
    const expected = verdictOf(bare)
    t.match(expected, /^scanner /, `the bare probe ${bare} is a scanner`)
    t.equal(verdictOf(target), expected, `${JSON.stringify(target.slice(0, 40))}... (${target.length}) as ${bare}`)
  }
})

t.test('padding is collapsed before anything is counted', async (t) => {
  const n = normalizePath('/'.repeat(3000) + 'a/./b/../c' + '/.'.repeat(1000))
  t.same(n.segments, ['a', 'c'])
  t.equal(n.cut, false)
  t.equal(n.traversal, false)
})

t.test('legitimate long URLs stay unknown', async (t) => {
  // Base64 as browsers send it in a SAML redirect: + / = percent-encoded.
  let seed = 7
  const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  let saml = ''
  for (let i = 0; i < 3000; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    saml += b64[seed >>> 26] as string
  }
  const encoded = encodeURIComponent(saml + '==')
  const words = ['products', 'garden', 'outdoor', 'furniture', 'tables', 'chairs', 'summer', 'collection', 'oak', 'teak']
  let wordPath = ''
  for (let i = 0; wordPath.length < 600; i++) wordPath += '/' + (words[i % words.length] as string) + '-' + String(i)
  const legit = [
    '/saml/acs?SAMLRequest=' + encoded + '&RelayState=%2Fdashboard',
    '/sso/login?SAMLRequest=' + saml + '&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature=' + saml.slice(0, 344),
    wordPath,
    wordPath + '/index.html',
    '/landing?utm_source=newsletter&utm_medium=email&utm_campaign=' + 'spring-sale-'.repeat(60) +
      '&utm_content=hero-button&utm_term=garden+chairs&gclid=' + 'Cj0KCQjw'.repeat(100) + '&fbclid=' + 'IwAR'.repeat(200),
    '/products?' + Array.from({ length: 300 }, (_, i) => `filter${i}=value${i}`).join('&'),
    '/p/' + 'long-slug-of-a-blog-post-'.repeat(40),
    '/search?q=' + 'how to paint a garden chair '.repeat(150),
    '/' + 'a'.repeat(MAX_READ * 2)
  ]
  for (const target of legit) {
    t.equal(classifyPathVerdict(target).classification, 'unknown', `${target.slice(0, 50)}... (${target.length})`)
  }
})

t.test('a target still cut off is classified by what was examined, never for its length', async (t) => {
  // Past the examined path: whole segments up to the cut, no file name, no end anchor.
  t.equal(classifyPathVerdict('/' + 'a'.repeat(MAX_EXAMINED) + '/.env').classification, 'unknown')
  t.equal(classifyPathVerdict('/' + 'a/'.repeat(MAX_SEGMENTS) + '.env').classification, 'unknown')
  t.equal(verdictOf('/.env/' + 'a'.repeat(MAX_EXAMINED * 4)), verdictOf('/.env'))
  t.equal(verdictOf('/wp-admin/' + 'x/'.repeat(500)), verdictOf('/wp-admin/x'))
  // `^/var/$` is os-file: not when the path goes on past the cut.
  t.equal(classifyPathVerdict('/var/' + 'x'.repeat(MAX_EXAMINED)).classification, 'unknown')
  // A segment that would cross the cut is left out: not `/.e`.
  t.equal(classifyPathVerdict('/' + 'a'.repeat(MAX_EXAMINED - 3) + '/.env').classification, 'unknown')
  // A file name cut at MAX_READ is not a file name: not `.sql`.
  t.equal(classifyPathVerdict('/' + 'b'.repeat(MAX_READ - 5) + '.sqlxxxx').classification, 'unknown')
  // Query: a value cut short is not matched at `$`; past the bounds nothing is seen.
  t.equal(classifyPathVerdict('/?x=' + 'a'.repeat(600) + '..').classification, 'unknown')
  t.equal(classifyPathVerdict('/?' + 'a=1&'.repeat(MAX_PARAMS) + 'x=../../etc/passwd').classification, 'unknown')
  const long = 'a=' + 'b'.repeat(100) + '&'
  const query = long.repeat(Math.ceil(MAX_QUERY_EXAMINED / 100))
  t.ok(query.length < MAX_READ)
  t.equal(classifyPathVerdict('/?' + query + 'x=../../etc/passwd').classification, 'unknown')
  t.equal(classifyPathVerdict('/?' + long.repeat(30) + 'x=../../etc/passwd').rule, 'traversal')
  t.equal(classifyPathVerdict('/?x=' + 'a'.repeat(MAX_READ) + '&y=${jndi:ldap://x}').classification, 'unknown')
})

t.test('hostile 100 kB targets are classified', async (t) => {
  const hostile = [
    '/'.repeat(100_000), '/.'.repeat(50_000), '/x/..'.repeat(20_000), '%2f'.repeat(33_000), '/' + '%25'.repeat(33_000),
    '/?' + '&'.repeat(100_000), '/?' + 'a=b&'.repeat(25_000), '/?' + 'a'.repeat(100_000), '/?' + '='.repeat(100_000),
    '/?' + 'a&'.repeat(50_000), '/' + 'a/'.repeat(50_000), '/' + '.'.repeat(100_000), '/' + ';'.repeat(100_000),
    '/' + 'x'.repeat(100_000) + '/.env', '/' + '/'.repeat(100_000) + '.env', '/' + '\\/.'.repeat(33_000) + '/.env'
  ]
  for (const target of hostile) {
    const v = classifyPathVerdict(target)
    t.ok(['unknown', 'scanner', 'benign-miss'].includes(v.classification), `${JSON.stringify(target.slice(0, 12))}... (${target.length}): ${v.classification}`)
  }
  // Read up to MAX_READ: padding that long hides a probe, by design.
  t.equal(classifyPathVerdict('/' + '/'.repeat(100_000) + '.env').classification, 'unknown')
  t.equal(classifyPathVerdict('/' + '.'.repeat(100_000)).rule, 'traversal')
})
