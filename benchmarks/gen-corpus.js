'use strict'

// Generates the classifier corpora kept in test/fixtures/corpus/:
//
//   disguised.txt  disguised variants of the development probe paths
//                  (../shared/corpus/scanner-dev.txt): encodings, case,
//                  slashes, dot segments, backslashes, `;` parameters, NUL
//                  bytes, overlong UTF-8, full-width forms, trailing junk.
//                  Every line must classify `scanner`.
//   legit.txt      legitimate 404s built from hand-written templates: REST
//                  ids, slugs, hashed assets, stale CMS links, platform routes,
//                  and words such as env, config, admin, git, shell or wp used
//                  innocently. No line may classify `scanner`.
//
// Deterministic (fixed seed): re-running it rewrites the same files.
//   node benchmarks/gen-corpus.js

const fs = require('node:fs')
const path = require('node:path')

const SEED = 0x5eed404
const VARIANTS_PER_PROBE = 3
const LEGIT_TARGET = 1800

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
const rand = mulberry32(SEED)
const pick = (list) => list[Math.floor(rand() * list.length)]
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1))
const hex = (n) => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 15)]).join('')
const alnum = (n) => Array.from({ length: n }, () => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[int(0, 61)]).join('')

// ---------------------------------------------------------------------------
// Disguises. Each takes the path part (no query) and returns a disguised one.

const pctByte = (c) => {
  const h = c.charCodeAt(0).toString(16).padStart(2, '0')
  return '%' + (rand() < 0.5 ? h : h.toUpperCase())
}
// Characters that may be re-encoded: not the leading slash, not inside an
// existing %XX escape (re-encoding half of one yields garbage, not a probe).
const innerIndexes = (p, re) => {
  const out = []
  for (let i = 1; i < p.length; i++) {
    if (p[i] === '%' || p[i - 1] === '%' || (i > 1 && p[i - 2] === '%')) continue
    if (re.test(p[i])) out.push(i)
  }
  return out
}
const replaceSome = (p, re, make, max) => {
  const idx = innerIndexes(p, re)
  if (idx.length === 0) return p
  const chosen = new Set()
  const n = Math.min(idx.length, int(1, max))
  while (chosen.size < n) chosen.add(pick(idx))
  let out = ''
  for (let i = 0; i < p.length; i++) out += chosen.has(i) ? make(p[i]) : p[i]
  return out
}
const segmentsOf = (p) => p.split('/')

const disguises = {
  case: (p) => p.replace(/[a-z]/g, (c) => (rand() < 0.5 ? c.toUpperCase() : c)),
  upper: (p) => p.toUpperCase(),
  percent: (p) => replaceSome(p, /[a-z0-9._-]/i, pctByte, 4),
  percentDots: (p) => p.replace(/\./g, () => pick(['%2e', '%2E'])),
  percentSlashes: (p) => p.slice(0, 1) + p.slice(1).replace(/\//g, () => pick(['%2f', '%2F'])),
  double: (p) => replaceSome(p, /[./a-z]/i, (c) => '%25' + c.charCodeAt(0).toString(16), 3),
  triple: (p) => replaceSome(p, /[.]/, () => '%25252e', 2),
  slashes: (p) => p.replace(/\//g, () => (rand() < 0.5 ? pick(['//', '///', '/']) : '/')),
  leadingSlashes: (p) => '//' + p.replace(/^\/+/, ''),
  dotSegment: (p) => {
    const segs = segmentsOf(p)
    const at = int(1, Math.max(1, segs.length - 1))
    segs.splice(at, 0, pick(['.', '.', 'static/..', 'x/..', 'a/b/../..']))
    return segs.join('/')
  },
  backslash: (p) => p.slice(0, 1) + p.slice(1).replace(/\//g, () => pick(['\\', '%5c', '%5C', '/'])),
  semicolon: (p) => {
    const segs = segmentsOf(p)
    const at = int(1, Math.max(1, segs.length - 1))
    if (segs[at] === undefined || segs[at] === '') return p + ';' + pick(['', 'jsessionid=' + alnum(8), '.css', 'x=1'])
    segs[at] += ';' + pick(['', 'jsessionid=' + alnum(8), '.css', 'x=1', 'a'])
    return segs.join('/')
  },
  nul: (p) => (p.endsWith('/') ? p.slice(0, -1) : p) + pick(['%00', '%00.jpg', '%00.html', '%00/x', '%2500']),
  overlongDot: (p) => p.replace(/\./g, () => pick(['%c0%ae', '%C0%AE', '%e0%80%ae'])),
  overlongSlash: (p) => p.slice(0, 1) + p.slice(1).replace(/\//g, () => pick(['%c0%af', '%C0%AF', '%e0%80%af'])),
  fullwidth: (p) => {
    const enc = pick(['pct', 'raw', 'latin1'])
    const dot = enc === 'pct' ? '%ef%bc%8e' : enc === 'raw' ? '\uff0e' : '\u00ef\u00bc\u008e'
    const slash = enc === 'pct' ? '%ef%bc%8f' : enc === 'raw' ? '\uff0f' : '\u00ef\u00bc\u008f'
    return p.slice(0, 1) + p.slice(1).replace(/[./]/g, (c) => (rand() < 0.6 ? (c === '.' ? dot : slash) : c))
  },
  iisUnicode: (p) => p.replace(/\./g, () => pick(['%u002e', '%U002E', '%uff0e'])),
  trailing: (p) => {
    const base = p.endsWith('/') && p.length > 1 ? p.slice(0, -1) : p
    return base + pick(['%20', '%09', '.', '..', '::$DATA', '%20%20', ' ', '/', '%0a'])
  }
}
const disguiseNames = Object.keys(disguises)

function disguise (line) {
  const q = line.indexOf('?')
  let p = q === -1 ? line : line.slice(0, q)
  const query = q === -1 ? '' : line.slice(q)
  const used = []
  const n = rand() < 0.6 ? 1 : 2
  for (let i = 0; i < n; i++) {
    const name = pick(disguiseNames)
    const next = disguises[name](p)
    if (next !== p) used.push(name)
    p = next
  }
  return { text: p + query, used }
}

// ---------------------------------------------------------------------------
// Legitimate 404s

const words = ['alpha', 'north', 'river', 'summer', 'garden', 'pricing', 'widget', 'coffee', 'report', 'travel',
  'invoice', 'team', 'launch', 'mobile', 'studio', 'cloud', 'market', 'health', 'energy', 'design', 'guide',
  'update', 'service', 'partner', 'holiday', 'account', 'profile', 'order', 'ticket', 'review']
// Words that probes use too, here in innocent routes.
const probeWords = ['env', 'environment', 'config', 'configuration', 'admin', 'administrator', 'git', 'github',
  'gitlab', 'shell', 'shells', 'wp', 'wordpress', 'backup', 'backups', 'sql', 'mysql', 'php', 'debug', 'install',
  'setup', 'upload', 'uploads', 'dump', 'logs', 'log', 'password', 'secret', 'secrets', 'key', 'keys', 'token',
  'db', 'database', 'server', 'root', 'cgi', 'console', 'manager', 'status', 'info', 'jenkins', 'solr', 'docker',
  'terraform', 'ssh', 'spring', 'laravel', 'drupal', 'joomla', 'magento', 'tomcat',
  'etc', 'passwd', 'htaccess', 'dotenv', 'cpanel', 'webmail', 'test', 'tests', 'shellfish', 'seashell',
  'environmental', 'configurator', 'administration', 'gitops', 'wpengine', 'vpn', 'remote', 'exchange', 'owa',
  'portal', 'login', 'signin', 'citrix', 'fortinet', 'sap', 'oracle', 'grafana']
// Product names that probes target, in routes that are about them.
const topicWords = [...probeWords, 'phpmyadmin', 'actuator', 'webmin', 'kibana', 'adminer', 'fckeditor', 'wp-admin',
  'wp-login', 'xmlrpc', 'phpunit', 'web-inf', 'cgi-bin', '.env', '.git', '.htaccess', 'wp-config', 'phpinfo']
const langs = ['en', 'de', 'fr', 'es', 'it', 'nl', 'pt-br', 'ja', 'ko', 'zh-cn', 'en-gb', 'fr-ca', 'sv', 'pl']
const resources = ['users', 'orders', 'products', 'invoices', 'projects', 'teams', 'accounts', 'customers',
  'tickets', 'articles', 'comments', 'files', 'reports', 'events', 'subscriptions', 'payments', 'sessions',
  'webhooks', 'keys', 'tokens', 'secrets', 'environments', 'configs', 'deployments', 'builds', 'backups',
  'databases', 'servers', 'logs', 'admins', 'repos', 'shells', 'uploads']
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`
const ids = [() => String(int(1, 999999)), uuid, () => hex(24), () => 'usr_' + alnum(14), () => alnum(26).toUpperCase(),
  () => 'INV-' + int(2015, 2025) + '-' + String(int(1, 99999)).padStart(5, '0'), () => String(int(1, 99))]
const slug = (n = int(2, 6)) => Array.from({ length: n }, () => pick(rand() < 0.35 ? probeWords : words)).join('-')
const year = () => int(2010, 2025)
const month = () => String(int(1, 12)).padStart(2, '0')
const day = () => String(int(1, 28)).padStart(2, '0')

const legitTemplates = [
  // REST
  () => `/api/v${int(1, 3)}/${pick(resources)}/${pick(ids)()}`,
  () => `/api/v${int(1, 3)}/${pick(resources)}/${pick(ids)()}/${pick(resources)}`,
  () => `/api/${pick(resources)}/${pick(ids)()}/${pick(resources)}/${pick(ids)()}`,
  () => `/api/v${int(1, 2)}/${pick(resources)}?page=${int(1, 40)}&per_page=${pick([10, 20, 50, 100])}&sort=${pick(['-created_at', 'name', 'updated_at'])}`,
  () => `/api/v1/${pick(resources)}?filter[status]=${pick(['active', 'archived', 'pending'])}&include=${pick(['owner', 'items', 'author,comments'])}`,
  () => `/api/v1/${pick(resources)}/${pick(ids)()}/${pick(['config', 'settings', 'env', 'environment', 'keys', 'logs', 'backup', 'shell', 'status', 'debug', 'install', 'upload'])}`,
  () => `/api/${pick(['search', 'v1/search', 'v2/search', 'autocomplete'])}?q=${pick(probeWords)}+${pick(words)}&limit=${int(5, 50)}`,
  () => `/graphql?query=${encodeURIComponent('{ ' + pick(resources) + '(id: ' + int(1, 999) + ') { id name } }')}`,
  () => `/rpc/${pick(['get', 'list', 'update', 'create'])}${pick(['User', 'Order', 'Config', 'Env', 'Backup', 'Shell', 'Admin'])}`,
  () => `/${pick(resources)}/${pick(ids)()}/edit`,
  () => `/${pick(['u', 'users', 'profile', '@'])}/${pick(['alice', 'bob', 'git-guru', 'shell_scripter', 'wp_dev', 'env0', 'admin-jane', 'root-access', 'sysadmin42'])}`,
  () => `/orgs/${pick(['acme', 'globex', 'initech'])}/${pick(['repos', 'members', 'settings', 'teams'])}/${slug(2)}`,
  () => `/${pick(['acme', 'globex'])}/${pick(['widgets', 'dotfiles', 'env-tools', 'config-loader'])}.git/info/refs?service=git-upload-pack`,
  // Content and slugs
  () => `/blog/${slug()}`,
  () => `/blog/${year()}/${month()}/${slug()}/`,
  () => `/${year()}/${month()}/${day()}/${slug()}/`,
  () => `/${pick(langs)}/${pick(['blog', 'docs', 'help', 'products', 'about', 'pricing', 'contact'])}/${slug(int(1, 4))}`,
  () => `/docs/${pick(['v1', 'v2', 'latest', 'next', '3.x'])}/${slug(int(1, 3))}`,
  () => `/docs/${pick(topicWords)}/${slug(int(1, 3))}`,
  () => `/${pick(['tags', 'tag', 'topics', 'category'])}/${pick(topicWords)}/`,
  () => `/${pick(['tags', 'category'])}/${pick(topicWords)}/page/${int(2, 20)}`,
  () => `/help/articles/${int(100000000, 999999999)}-${slug()}`,
  () => `/kb/${pick(probeWords)}-${pick(words)}-${int(1, 999)}`,
  () => `/forum/t/${slug()}/${int(100, 99999)}`,
  () => `/courses/${slug(3)}/lesson-${int(1, 30)}`,
  () => `/careers/${pick(['senior', 'junior', 'staff', 'lead'])}-${pick(probeWords)}-${pick(['engineer', 'developer', 'administrator', 'specialist'])}`,
  () => `/products/${slug(int(1, 3))}?${pick(['color=red', 'size=m', 'ref=home', 'utm_source=newsletter&utm_medium=email'])}`,
  () => `/shop/${pick(['seashell-necklace', 'shell-jacket', 'git-mug', 'env-friendly-bag', 'admin-desk', 'wp-sticker', 'config-cable', 'backup-battery', 'root-beer', 'test-tube-rack', 'debug-duck', 'php-elephant-plush'])}`,
  () => `/search?q=${pick(topicWords)}${pick(['', '+' + pick(words), '+' + pick(topicWords), '+tutorial', '+file', '+setup'])}`,
  () => `/search?q=${pick(['.env file', 'wp-admin login', 'phpmyadmin install', 'git config', 'bash shell', 'admin panel', 'config.yml', 'web.config', 'backup.zip restore', 'sql dump', 'etc hosts', 'cgi-bin', 'xmlrpc.php', 'jenkins pipeline']).replace(/ /g, pick(['+', '%20']))}`,
  () => `/${pick(['search', 'find', 'results'])}/${pick(topicWords)}`,
  // Hashed and static assets
  () => `/static/js/${pick(['main', 'runtime', 'vendors', int(100, 999)])}.${hex(8)}${pick(['.js', '.chunk.js'])}`,
  () => `/static/css/${pick(['main', 'app'])}.${hex(8)}.css`,
  () => `/assets/${pick(['index', 'vendor', 'app', 'admin', 'config', 'env', 'shell'])}-${alnum(8)}.${pick(['js', 'css', 'mjs'])}`,
  () => `/_next/static/chunks/${pick(['pages/', 'app/', ''])}${pick(['_app', 'index', 'admin', 'settings', 'config', 'main', 'framework'])}-${hex(16)}.js`,
  () => `/_next/static/${alnum(21)}/_buildManifest.js`,
  () => `/_next/data/${alnum(21)}/${pick(['index', 'blog/' + slug(2), 'admin', 'settings'])}.json`,
  () => `/_nuxt/${pick(['entry', 'pages/index', 'admin'])}.${hex(8)}.js`,
  () => `/build/${pick(['app', 'vendor', 'admin'])}.${hex(20)}.${pick(['js', 'css', 'js.gz', 'css.br'])}`,
  () => `/dist/${pick(['main', 'bundle', 'polyfills'])}.${pick(['', 'min.', hex(8) + '.'])}js`,
  () => `/fonts/${pick(['roboto', 'inter', 'open-sans', 'fira-code'])}-v${int(10, 40)}-latin-${pick(['regular', '700', 'italic'])}.${pick(['woff2', 'woff', 'ttf'])}`,
  () => `/images/${pick(['hero', 'logo', 'team/' + pick(['jane', 'john']), 'products/' + slug(2)])}${pick(['', '@2x', '-' + int(300, 1920) + 'w'])}.${pick(['png', 'jpg', 'webp', 'svg', 'avif'])}`,
  () => `/img/${slug(2)}-${year()}.${pick(['jpg', 'png', 'gif'])}`,
  () => `/media/${pick(['cache/resolve/thumb', 'uploads', 'videos', 'images'])}/${slug(2)}.${pick(['jpg', 'mp4', 'webm', 'png'])}`,
  () => `/js/${pick(['app', 'main', 'jquery.min', 'admin', 'config', 'env'])}.js?v=${int(1, 9)}.${int(0, 9)}.${int(0, 9)}`,
  () => `/css/${pick(['style', 'main', 'admin', 'print'])}.css?ver=${int(4, 6)}.${int(0, 9)}.${int(0, 9)}`,
  () => `/vendor/${pick(['jquery/jquery.min.js', 'bootstrap/css/bootstrap.min.css', 'fontawesome/css/all.min.css', 'chart.js/chart.umd.js'])}`,
  () => `/node_modules/${pick(['bootstrap/dist/css/bootstrap.min.css', 'jquery/dist/jquery.min.js', 'htmx.org/dist/htmx.min.js'])}`,
  // Documents and downloads
  () => `/downloads/${slug(2)}-${year()}.${pick(['pdf', 'docx', 'xlsx', 'pptx'])}`,
  () => `/files/${pick(['invoice', 'receipt', 'statement'])}_${int(1000, 99999)}.pdf`,
  () => `/${pick(resources)}/${int(1000, 999999)}/${pick(['receipt', 'invoice', 'export', 'report'])}.${pick(['pdf', 'csv'])}`,
  () => `/releases/v${int(0, 9)}.${int(0, 20)}.${int(0, 9)}/${pick(['app', 'cli', 'agent'])}-${pick(['linux', 'darwin', 'windows'])}-${pick(['amd64', 'arm64'])}.${pick(['tar.gz', 'zip'])}`,
  () => `/exports/${pick(['users', 'orders', 'events'])}-${year()}-${month()}.csv`,
  // Stale links of migrated sites
  () => `/wp-content/uploads/${year()}/${month()}/${slug(2)}${pick(['', '-1024x768', '-scaled', '-300x200'])}.${pick(['jpg', 'png', 'pdf', 'webp', 'gif', 'mp4'])}`,
  () => `/wp-content/uploads/sites/${int(2, 9)}/${year()}/${month()}/${slug(2)}.${pick(['jpg', 'pdf'])}`,
  () => `/wp-content/themes/${pick(['twentytwenty', 'astra', 'mytheme'])}/${pick(['style.css', 'assets/img/logo.svg', 'images/header.jpg', 'fonts/icons.woff2', 'js/theme.js'])}`,
  () => `/wp-includes/js/${pick(['jquery/jquery.min.js', 'wp-emoji-release.min.js', 'comment-reply.min.js'])}?ver=${int(4, 6)}.${int(0, 9)}`,
  () => `/sites/default/files/${pick(['styles/large/public/', '', 'inline-images/'])}${slug(2)}.${pick(['jpg', 'png', 'pdf'])}`,
  () => `/${pick(['about', 'contact', 'products', 'services', 'news', 'gallery', 'guestbook', 'links', 'faq', 'team', 'history', 'catalog', 'shop', 'events'])}.${pick(['php', 'aspx', 'asp', 'html', 'htm', 'jsp', 'cfm'])}`,
  () => `/${pick(['index', 'default', 'home', 'main'])}.${pick(['php', 'aspx', 'asp', 'jsp'])}?${pick(['page=about', 'id=' + int(1, 999), 'lang=en', 'option=com_content&view=article&id=' + int(1, 300), 'p=' + int(1, 9999), 'cat=' + int(1, 40)])}`,
  () => `/index.php/${pick(['about-us', 'contact', 'component/content/article/' + int(1, 99), 'blog/' + slug(2)])}`,
  () => `/?${pick(['p', 'page_id', 'cat', 'attachment_id'])}=${int(1, 9999)}`,
  () => `/${pick(['forum', 'board', 'community'])}/viewtopic.php?f=${int(1, 20)}&t=${int(1, 9999)}`,
  () => `/${pick(['Pages', 'pages'])}/${pick(['Home', 'About', 'Contact', 'Products'])}.aspx`,
  () => `/${pick(['store', 'catalog'])}/${pick(['item', 'product', 'details'])}.${pick(['aspx', 'php', 'jsp', 'do'])}?${pick(['sku', 'id', 'products_id'])}=${alnum(6)}`,
  () => `/${pick(['component', 'components'])}/content/article/${int(1, 300)}-${slug(2)}`,
  // Platform, framework and app routes
  () => pick(['/.netlify/functions/' + pick(['subscribe', 'contact', 'webhook']), '/.netlify/identity/settings', '/.netlify/images?url=/img/' + slug(1) + '.jpg', '/.auth/me', '/.auth/login/' + pick(['aad', 'github', 'google']) + '/callback', '/.auth/logout', '/.within.website/x/cmd/anubis/api/pass-challenge?response=' + hex(6) + '&nonce=' + int(1, 99) + '&redir=%2F']),
  () => pick(['/cdn-cgi/trace', '/cdn-cgi/rum', '/cdn-cgi/l/email-protection', '/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1', '/_vercel/insights/view', '/_vercel/speed-insights/script.js', '/__/auth/handler', '/__/firebase/init.json', '/socket.io/?EIO=4&transport=polling&t=' + alnum(7), '/sockjs-node/info', '/__webpack_hmr', '/_next/image?url=%2Fimages%2F' + slug(1) + '.jpg&w=' + pick([640, 1080, 1920]) + '&q=75']),
  () => `/${pick(['auth', 'oauth', 'login', 'sso'])}/callback${pick(['', '/google', '/github', '/azure'])}?code=${alnum(20)}&state=${alnum(12)}`,
  () => `/login?${pick(['next', 'redirect', 'return_to', 'returnUrl'])}=${pick(['%2Fdashboard', '/account/settings', 'https%3A%2F%2Fapp.example.com%2Fbilling', encodeURIComponent('/admin/users?page=2')])}`,
  () => `/${pick(['logout', 'signout'])}?redirect=%2F`,
  () => `/${pick(['account', 'settings', 'dashboard', 'console', 'admin', 'app'])}/${pick(['security', 'password', 'api-keys', 'tokens', 'ssh-keys', 'environment', 'config', 'backups', 'shell-access', 'git', 'webhooks', 'billing', 'logs', 'debug', 'install', 'setup', 'upload'])}`,
  () => `/${pick(['admin', 'dashboard'])}/${pick(resources)}/${pick(ids)()}${pick(['', '/edit', '/logs', '/config'])}`,
  () => `/account/password/reset?token=${hex(24)}`,
  () => `/${pick(['share', 's', 'l', 'go', 'r'])}/${alnum(int(6, 10))}`,
  () => `/webhooks/${pick(['stripe', 'github', 'gitlab', 'slack', 'twilio', 'sendgrid', 'shopify'])}`,
  () => `/hooks/${pick(['slack', 'discord'])}/${alnum(9).toUpperCase()}/${alnum(9).toUpperCase()}`,
  () => `/${pick(['health', 'healthz', 'readyz', 'livez', 'status', 'ping', 'metrics', 'version', 'info', 'env', 'config', 'admin', 'debug', 'test', 'dev', 'api', 'console', 'shell', 'git', 'wp', 'backup', 'install', 'setup', 'upload', 'uploads', 'logs', 'server', 'manager', 'portal', 'login', 'remote', 'vpn', 'exchange', 'webmail', 'dashboard', 'docs', 'sql', 'mysql', 'db', 'database'])}`,
  () => `/${pick(['en', 'de', 'fr'])}/${pick(['environment', 'environmental-policy', 'config-guide', 'administration', 'wordpress-hosting', 'git-training', 'shell-scripting', 'backup-service'])}`,
  () => `/${pick(['integrations', 'partners', 'apps', 'marketplace'])}/${pick(['gitlab', 'github', 'jenkins', 'wordpress', 'shell', 'solr', 'sap', 'oracle', 'citrix', 'fortinet', 'exchange', 'tomcat', 'kibana'])}`,
  () => `/${pick(['locales', 'i18n', 'lang', 'static/locales'])}/${pick(langs)}${pick(['.json', '/translation.json', '/messages.json', '/common.json'])}`,
  () => `/intl/${pick(['en_us', 'de_de', 'fr_fr'])}/${pick(['terms', 'privacy', 'about'])}`,
  () => `/${pick(['tags', 'topics'])}/${pick(['.net', '.net-core', 'c%23', 'c%2B%2B', 'node.js', 'vue.js', 'asp.net'])}`,
  () => `/${pick(['files', 'docs', 'p'])}/${pick(['my%20document.pdf', 'caf%C3%A9-menu.pdf', '%E4%BD%A0%E5%A5%BD', 'r%C3%A9sum%C3%A9', 'na%C3%AFve-bayes', 'stra%C3%9Fe'])}`,
  () => `/users/${pick(['john.doe', 'jane.smith', 'j.r.r', 'a.b-c'])}${pick(['', '/repos', '/followers'])}`,
  () => `/packages/${pick(['@acme/config', '@scope/env-loader', 'dotenv-safe', 'git-url-parse', 'shelljs', 'wp-api-client'])}${pick(['', '/v/1.2.3', '/versions'])}`,
  () => `/~${pick(['alice', 'bob', 'jsmith'])}/${pick(['', 'papers/', 'cv.pdf', 'index.html'])}`,
  () => `/${pick(['download', 'file', 'attachment'])}?${pick(['id=' + int(1, 99999), 'file=reports/' + year() + '/q' + int(1, 4) + '.pdf', 'path=/documents/' + slug(2) + '.pdf', 'name=' + slug(2) + '.zip'])}`,
  () => `/${pick(['redirect', 'out', 'away', 'external'])}?url=${pick(['https%3A%2F%2Fexample.com%2F', 'https://docs.example.org/' + slug(2), 'https%3A%2F%2Fgithub.com%2Facme%2Fwidgets'])}`,
  () => `/${pick(['landing', 'promo', 'lp'])}/${slug(2)}?utm_campaign=${slug(1)}${year()}&utm_source=${pick(['email', 'twitter', 'google'])}&gclid=${alnum(20)}`,
  () => `/${pick(resources)}/${pick(ids)()}.${pick(['json', 'xml', 'csv', 'pdf', 'atom'])}`,
  () => `/feeds/${pick(['all', slug(1)])}.${pick(['atom', 'rss', 'xml'])}`,
  () => `/${pick(['openapi', 'swagger', 'api-docs'])}${pick(['.json', '.yaml', '.yml', '/index.html', ''])}`,
  () => `/${pick(['manifest', 'app-manifest', 'asset-manifest'])}.json`,
  () => `/${pick(['env', 'env-config', 'runtime-config', 'config', 'settings'])}.js`,
  () => `/assets/${pick(['config', 'settings', 'env', 'app-config'])}.json`
]

// Hand-picked legitimate 404s of the kinds DESIGN.md names, written out.
const legitFixed = [
  '/', '/index.html', '/home.html', '/default.aspx', '/tags/jenkins/', '/docs/ci/jenkins/pipeline-setup',
  '/docs/search/solr/tuning', '/docs/wordpress-plugin/install', '/blog/why-we-left-wordpress', '/docs/wpa3-setup',
  '/shop/seashell-necklace', '/partners/shell-energy', '/courses/bash-shell-scripting', '/config/notifications',
  '/settings/config', '/docs/configuration/advanced', '/admin-guide.html', '/docs/admin-api',
  '/docs/admin/roles-and-permissions', '/help/administrators', '/blog/sysadmin-day', '/careers/office-admin',
  '/support/articles/restore-from-backup', '/jobs/senior-php-developer', '/docs/sdk/php', '/blog/postgres-vs-mysql',
  '/console/projects/4821/settings', '/console/billing', '/docs/environment-variables', '/environmental-policy',
  '/envoy/docs/getting-started', '/envelopes/custom-printed', '/docs/git-workflow', '/integrations/gitlab',
  '/acme/widgets.git', '/contact.php', '/about-us.php', '/products.php?id=42', '/index.php?page=about',
  '/news.php?id=1187', '/catalog/product_info.php?products_id=315', '/Pages/Home.aspx', '/store/item.aspx?sku=AB-1234',
  '/search.jsp?q=widgets', '/viewtopic.php?t=4412', '/.netlify/functions/subscribe', '/.auth/me',
  '/wp-content/uploads/2020/11/product-brochure.pdf', '/media/cache/resolve/thumb/uploads/photo.jpg',
  '/static/admin/css/base.css', '/tags/phpmyadmin/', '/topics/wp-admin', '/docs/phpmyadmin/setup',
  '/docs/actuator/endpoints', '/docs/wp-config', '/blog/securing-your-env-files', '/blog/dotenv-best-practices',
  '/blog/htaccess-redirects-explained', '/docs/cgi-bin-migration', '/tags/.env', '/docs/.htaccess',
  '/search?q=%2Eenv', '/search?q=wp-config.php', '/search?q=phpinfo', '/search?q=passwd', '/search?q=union',
  '/api/v1/search?q=shell+jacket&size=20', '/api/v1/webhooks/github', '/webhooks/stripe', '/status', '/health',
  '/metrics', '/ping', '/api', '/test', '/dashboard', '/admin', '/admin/users', '/admin/settings', '/wp',
  '/git', '/shell', '/env', '/config', '/backup', '/backups', '/debug', '/install', '/setup', '/upload', '/logs',
  '/console', '/manager', '/server', '/root', '/portal/login', '/uploads/', '/remote', '/vpn', '/exchange',
  '/webmail', '/mysql', '/sql', '/db', '/database', '/jobs/remote', '/remote/jobs', '/vpn/pricing', '/sap',
  '/ui/components/button', '/hc/en-us/articles/360001234567', '/telescope/reviews', '/nexus', '/casa/madrid',
  '/tree', '/billing', '/billing/invoices/2023', '/plus', '/craft/knitting', '/moodle', '/user/register',
  '/downloader', '/exchange/rates', '/printers/laser', '/powershell/scripts', '/saml/login', '/auction/lot-42',
  '/api/v1/nodes', '/api/v1/namespaces', '/v1/agent/status', '/api/v2/monitor/uptime', '/logon', '/dana/wallet',
  '/citrix', '/moteur/recherche', '/utilitaires', '/biblioteca/libros', '/private/sales', '/keys/api',
  '/conf/2024/schedule', '/admin/config', '/ftp', '/ssh', '/aws', '/certs', '/ssl', '/keystore',
  '/datasources/12', '/service-accounts', '/settings/api_keys', '/users.json', '/keys.json', '/integrations/sendgrid',
  '/integrations/twilio', '/docs/airflow', '/fluent', '/openvpn', '/application-form.pdf', '/credentials',
  '/account/credentials', '/docs/api/credentials', '/blog/entries', '/tools/htpasswd-generator', '/dotenv',
  '/docs/dotenv', '/testimonials.php', '/test-drive.php', '/installment-plans.php', '/badminton.php',
  '/executive-team.php', '/thumb.php?src=/images/logo.png', '/browse.php?category=3', '/doors.php', '/fr.php',
  '/en.php', '/de.aspx', '/faq.php', '/map.php', '/team.php', '/index.php/component/content/article/12',
  '/index.php?option=com_content&view=article&id=12', '/?p=123', '/?page_id=42', '/forgot_password.php',
  '/recoverpassword.php', '/login.php?return=https%3A%2F%2Fexample.com%2Faccount', '/auth/login',
  '/downloads/brochure.zip', '/downloads/press-kit.zip', '/releases/app-1.2.3.tar.gz', '/static/js/main.js.gz',
  '/downloads/mysql-workbench.zip', '/downloads/sql-server-express.zip', '/themes/wordpress-theme.zip',
  '/files/website-template.zip', '/downloads/joomla-extension.tar.gz',
  '/assets/config.json', '/config.js', '/env.js', '/env-config.js', '/app.config.js', '/assets/app.config.js',
  '/openapi.yaml', '/swagger.yml', '/api-docs.yaml', '/tags/c%23', '/tags/.net', '/jobs/.net-developer',
  '/topics/.net8', '/docs/v1.2.3/api', '/users/john.doe', '/releases/1.0.0', '/search?q=etc+hosts',
  '/search?q=how+to+edit+hosts+file', '/search?q=etc/passwd+permissions', '/docs/search?query=%2Fetc%2Fhosts', '/search?q=curl+-X+POST', '/search?q=javascript%3A+the+good+parts',
  '/search?q=union+select+syntax', '/search?q=alert+box', '/search?q=ifconfig', '/search?q=%24%28document%29.ready',
  '/docs/search?query=chmod+777', '/search?q=java.lang.String', '/search?q=information_schema',
  '/search?q=eval%28%29', '/search?q=next.config.js', '/next?step=2', '/redirect?next=%2Fdashboard',
  '/wp-content/themes/astra/style.css', '/wp-includes/js/jquery/jquery.min.js?ver=3.6.0',
  '/wp-content/plugins/contact-form-7/includes/css/styles.css', '/wp-content/uploads/2019/03/photo-1024x768.jpg',
  '/sites/default/files/inline-images/chart.png', '/fileadmin/user_upload/brochure.pdf',
  '/images/stories/banner.jpg', '/media/catalog/product/a/b/shirt.jpg', '/skin/frontend/default/theme/images/logo.gif',
  '/%E6%97%A5%E6%9C%AC%E8%AA%9E/%E3%83%98%E3%83%AB%E3%83%97', '/product/old-widget-v1', '/contcat', '/black-friday',
  '/gtag/js?id=G-ABC123', '/cdn-cgi/l/email-protection', '/_vercel/speed-insights/script.js',
  '/graphql?operationName=GetUser&variables=%7B%22id%22%3A42%7D', '/logout?redirect=%2F',
  '/share/9f8e7d6c', '/rpc/getProfile', '/api/graphql', '/hooks/slack/T0001/B0002'
]

// ---------------------------------------------------------------------------

function main () {
  const root = path.join(__dirname, '..')
  const corpusDir = path.join(root, '..', 'shared', 'corpus')
  const outDir = path.join(root, 'test', 'fixtures', 'corpus')
  fs.mkdirSync(outDir, { recursive: true })

  let probes
  try {
    probes = fs.readFileSync(path.join(corpusDir, 'scanner-dev.txt'), 'utf8').split('\n').filter(Boolean)
  } catch (err) {
    console.error(`gen-corpus: cannot read ${corpusDir}/scanner-dev.txt (${err.code}); disguised.txt not regenerated`)
    probes = null
  }
  if (probes !== null) {
    const seen = new Set()
    const lines = []
    for (const probe of probes) {
      for (let k = 0; k < VARIANTS_PER_PROBE; k++) {
        const { text, used } = disguise(probe)
        if (used.length === 0 || seen.has(text) || /[\n\r]/.test(text)) continue
        seen.add(text)
        lines.push(JSON.stringify(text))
      }
    }
    // JSON strings, one a line: variants hold raw control and non-ASCII characters.
    fs.writeFileSync(path.join(outDir, 'disguised.txt'), lines.join('\n') + '\n')
    console.log(`disguised.txt: ${lines.length} variants of ${probes.length} probes`)
  }

  const legit = new Set(legitFixed)
  let guard = 0
  while (legit.size < LEGIT_TARGET && guard++ < LEGIT_TARGET * 20) legit.add(pick(legitTemplates)())
  fs.writeFileSync(path.join(outDir, 'legit.txt'), [...legit].join('\n') + '\n')
  console.log(`legit.txt: ${legit.size} legitimate paths`)
}

main()
