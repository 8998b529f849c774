'use strict'
// The request streams of the HTTP suite (benchmarks/http.bench.js), shared by
// both modes of its load generator (suite/load.js: saturation and open loop)
// so that both send the same bytes.
//
//   root  GET / only: the hello-world route, 200.
//   mix   a 404-heavy stream: half GET /, half misses: probes a scanner sends
//         (25% of all requests), benign misses a browser or crawler makes
//         (15%: favicons, touch icons, security.txt) and stale links (10%).
//         The order is a fixed pseudo-random shuffle of a 1 000-request cycle
//         (same seed every run), so every configuration sees the same stream.
//
// Every request carries the headers a browser sends. With `cf` (for servers
// that trust the peer as a load balancer behind Cloudflare, see server.js),
// each request also carries what that path adds: `x-forwarded-for` ending in
// a Cloudflare edge address, `cf-connecting-ip`, `cf-ray` and `cf-ipcountry`.
// The client IPs then cycle through 65 536 public addresses, so that a
// limiter counting scanner 404s per IP (10 a minute by default) never
// reaches a limit in a run: each address makes a handful of requests.

const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const BROWSER_HEADERS = Object.freeze({
  'user-agent': UA,
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-US,en;q=0.9',
  'accept-encoding': 'gzip, deflate, br'
})

// Samples of the development corpus (/work/shared/corpus: scanner-dev.txt and
// benign-dev.tsv) and of classify-micro.bench.js's typical 404s, kept here so
// the suite depends on nothing outside the repository.
const PROBES = [
  '/.env', '/.git/config', '/.git/HEAD', '/wp-login.php', '/xmlrpc.php', '/phpmyadmin/', '/wp-admin/setup-config.php',
  '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php', '/actuator/env', '/cgi-bin/luci/;stok=/locale',
  '/backup.zip', '/config.php', '/shell.php', '/.aws/credentials', '/server-status', '/.DS_Store',
  '/index.php?s=/index/\\think\\app/invokefunction', '/admin/config.php', '/.vscode/sftp.json', '/wp-config.php.bak',
  '/solr/admin/info/system', '/boaform/admin/formLogin', '/owa/auth/logon.aspx', '/.env.production'
]
const BENIGN_MISSES = [
  '/favicon.ico', '/favicon.svg', '/apple-touch-icon.png', '/apple-touch-icon-precomposed.png', '/robots.txt',
  '/sitemap.xml', '/.well-known/security.txt', '/favicon-32x32.png', '/site.webmanifest', '/ads.txt'
]
const STALE_LINKS = [
  '/blog/2021/05/why-we-moved-to-fastify', '/api/v1/users/8d3c2b1a-4f5e-4a6b-9c7d-0e1f2a3b4c5d',
  '/static/js/main.8a3f1c2e.chunk.js', '/assets/index-DkP3s8Qe.css', '/docs/v2/getting-started', '/en/pricing',
  '/search?q=shell+jacket', '/images/hero@2x.png', '/about-us.html', '/api/products/123/reviews?page=3&sort=recent'
]

const CYCLE = 1000
// Not a multiple of CYCLE: an address does not always get the same path.
const IP_POOL = 65536
// Public ranges outside Cloudflare's, private and special-purpose space.
const IP_PREFIXES = ['81.2', '92.40', '145.100', '203.7']
// Cloudflare edge addresses (inside the shipped ranges) a load balancer reports.
const EDGES = ['172.70.85.12', '162.158.90.41', '172.71.22.200', '104.23.241.3']
const COUNTRIES = ['US', 'DE', 'GB', 'FR', 'NL', 'IN', 'BR', 'JP', 'SG', 'CA']

function mulberry32 (seed) {
  let a = seed >>> 0
  return function () {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The paths of one cycle, in order. */
function pathCycle (workload) {
  if (workload === 'root') return ['/']
  if (workload !== 'mix') throw new Error(`unknown workload ${workload} (root, mix)`)
  const rand = mulberry32(0x404b)
  const pick = (list) => list[Math.floor(rand() * list.length)]
  const paths = []
  for (let i = 0; i < CYCLE; i++) {
    // Exact shares per cycle: 500 GET /, 250 probes, 150 benign misses, 100 stale links.
    paths.push(i < 500 ? '/' : i < 750 ? pick(PROBES) : i < 900 ? pick(BENIGN_MISSES) : pick(STALE_LINKS))
  }
  for (let i = paths.length - 1; i > 0; i--) { // Fisher-Yates, seeded
    const j = Math.floor(rand() * (i + 1));
    [paths[i], paths[j]] = [paths[j], paths[i]]
  }
  return paths
}

/** The headers a Cloudflare -> load balancer -> app path adds to request number i. */
function cloudflareHeaders (i) {
  // Multiplying by an odd constant permutes the pool: consecutive requests come from unrelated addresses.
  const k = Math.imul(i, 40503) & (IP_POOL - 1)
  const ip = `${IP_PREFIXES[k >>> 14]}.${(k >>> 8) & 63}.${k & 255}`
  return {
    'x-forwarded-for': `${ip}, ${EDGES[i & 3]}`,
    'cf-connecting-ip': ip,
    'cf-ray': `${(0x8f3a00000000 + i).toString(16)}-FRA`,
    'cf-ipcountry': COUNTRIES[i % COUNTRIES.length]
  }
}

/**
 * The stream of one workload: `at(i)` is request number i ({ path, headers }),
 * `status(path)` the one status it must get (nothing may limit a run).
 */
function createWorkload (workload, { cf = false } = {}) {
  const paths = pathCycle(workload)
  return {
    paths,
    at (i) {
      const path = paths[i % paths.length]
      return { path, headers: cf ? { ...BROWSER_HEADERS, ...cloudflareHeaders(i) } : BROWSER_HEADERS }
    },
    status: (path) => path === '/' ? 200 : 404
  }
}

module.exports = { createWorkload, BROWSER_HEADERS }
