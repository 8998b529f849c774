// Certainty of a scanner verdict: which families say that one probe is enough
// to mark an IP (`certain`) and which only count toward a limit (`likely`).
// The rule: a probe is certain only when no real browser, no crawler following
// links and no user with an old bookmark of a migrated site would ever ask for
// it. Checked here per family, over the benign development corpus, and over
// disguised variants (a disguise must not change what a probe is).
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { classifyPathVerdict } from '../lib/classify/classify'
import { families } from '../lib/classify/patterns'

const sharedCorpus = join(__dirname, '..', '..', 'shared', 'corpus')
const readShared = (file: string): string[] | undefined => {
  try {
    return readFileSync(join(sharedCorpus, file), 'utf8').split('\n').filter((l) => l !== '')
  } catch {
    return undefined
  }
}

const certain: Array<[path: string, rule: string]> = [
  ['/../../etc/passwd', 'traversal'],
  ['/index.php?page=../../../../etc/passwd', 'traversal'],
  ['/etc/passwd', 'os-file'],
  ['/windows/win.ini', 'os-file'],
  ['/proc/self/environ', 'os-file'],
  ['/index.php?file=php://filter/convert.base64-encode/resource=index.php', 'file-inclusion'],
  ['/?x=${jndi:ldap://127.0.0.1/a}', 'injection'], // eslint-disable-line no-template-curly-in-string
  ['/?id=1%27%20UNION%20SELECT%201,2,3--', 'injection'],
  ['/.git/config', 'vcs'],
  ['/.svn/entries', 'vcs'],
  ['/.env', 'dotfile'],
  ['/.htpasswd', 'dotfile'],
  ['/shell.php', 'webshell'],
  ['/c99.php', 'webshell'],
  ['/uploads/1.php', 'webshell'],
  ['/x.php', 'webshell'],
  ['/wp-content/uploads/2024/01/image.jpg.php', 'webshell'],
  ['/.well-known/acme-challenge/shell.php', 'webshell'],
  ['/id_rsa', 'secret-file'],
  ['/terraform.tfstate', 'secret-file'],
  ['/sftp-config.json', 'secret-file'],
  ['/xmlrpc.php', 'wordpress-probe'],
  ['/wp-includes/wlwmanifest.xml', 'wordpress-probe'],
  ['/blog/wp-includes/wlwmanifest.xml', 'wordpress-probe'],
  ['/wp-config.php.bak', 'wordpress-probe'],
  ['/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php', 'framework-rce'],
  ['/_ignition/execute-solution', 'framework-rce'],
  ['/WEB-INF/web.xml', 'framework-rce'],
  ['/boaform/admin/formLogin', 'vendor-rce'],
  ['/remote/fgt_lang?lang=en', 'vendor-rce'],
  ['/global-protect/login.esp', 'vendor-rce'],
  ['/HNAP1/', 'vendor-rce'],
  ['/cgi-bin/luci/;stok=/locale', 'vendor-rce'],
  ['/?s=index/%5Cthink%5Capp/invokefunction&function=call_user_func_array', 'vendor-rce'],
  ['/nmaplowercheck1606923328', 'recon'],
  ['/w00tw00t.at.ISC.SANS.DFind:)', 'recon'],
  ['http://example.com/', 'open-proxy'],
  ['www.google.com:443', 'open-proxy'],
  ['/dns-query?dns=q80BAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB', 'dns-over-https'],
  ['/resolve?name=example.com&type=A', 'dns-over-https']
]

const likely: Array<[path: string, rule: string]> = [
  ['/wp-login.php', 'wordpress'],
  ['/wp-admin/', 'wordpress'],
  ['/wp-content/plugins/akismet/akismet.php', 'wordpress'],
  ['/administrator/index.php', 'cms'],
  ['/phpmyadmin/', 'admin-console'],
  ['/actuator/env', 'admin-console'],
  ['/telescope/requests', 'framework'],
  ['/autodiscover/autodiscover.xml', 'vendor-app'],
  ['/owa/auth/logon.aspx', 'vendor-app'],
  ['/Microsoft-Server-ActiveSync', 'vendor-app'],
  ['/cgi-bin/formmail.pl', 'cgi'],
  ['/backup.sql', 'backup'],
  ['/www.zip', 'backup'],
  ['/config.php.bak', 'backup'],
  ['/config.yml', 'config-file'],
  ['/docker-compose.yml', 'config-file'],
  ['/error_log', 'log-file'],
  ['/phpinfo.php', 'info-leak'],
  ['/readme.txt', 'info-leak'],
  ['/install.php', 'installer'],
  ['/fckeditor/editor/filemanager/connectors/php/upload.php', 'file-manager'],
  // Ordinary words that backdoor lists also use, and scripts in image folders.
  ['/bug.php', 'shell-name'],
  ['/console.php', 'shell-name'],
  ['/nutshell.php', 'shell-name'],
  ['/images/thumb.php', 'shell-name'],
  ['/img/captcha.php', 'shell-name'],
  // Product folders a device, a monitor or an old site's pages still ask for, or an app could name alike.
  ['/mdm/checkin', 'vendor-app'],
  ['/iclock/cdata?SN=1', 'vendor-app'],
  ['/cf_scripts/scripts/cfform.js', 'vendor-app'],
  ['/saas/auth/callback', 'vendor-app'],
  ['/jolokia/list', 'admin-console'],
  ['/bitrix/rk.php?goto=https://example.com/', 'cms']
]

t.test('every family says whether it is certain or likely, and why', async (t) => {
  t.ok(families.length <= 31, `${families.length} families fit in a 31-bit mask`)
  for (const f of families) {
    t.ok(f.certainty === 'certain' || f.certainty === 'likely', `${f.rule}: ${f.certainty}`)
    t.match(f.about, f.certainty, `${f.rule}: the about says why it is ${f.certainty}`)
  }
  const tested = new Set([...certain, ...likely].map(([, rule]) => rule))
  for (const f of families) t.ok(tested.has(f.rule), `${f.rule} has a representative probe here`)
})

t.test('certain probes', async (t) => {
  for (const [path, rule] of certain) {
    const v = classifyPathVerdict(path)
    t.same([v.classification, v.rule, v.certain], ['scanner', rule, true], path)
  }
})

t.test('likely probes', async (t) => {
  for (const [path, rule] of likely) {
    const v = classifyPathVerdict(path)
    t.same([v.classification, v.rule, v.certain], ['scanner', rule, false], path)
  }
})

t.test('a page about a file, a person or a topic is never a certain probe', async (t) => {
  for (const path of ['/docs/dotenv.html', '/tools/htaccess.html', '/env.development.html', '/library/xmlrpc.html',
    '/docs/id_rsa.html', '/guides/wp-config.html', '/team/sam', '/blog/crontab', '/docs/fstab', '/shadow',
    '/proc/orders/42', '/boot/red-leather', '/windows/double-glazing', '/usr/profile', '/alfa-romeo.php', '/wsop.php',
    '/shellfish.php', '/backdoor-roth-ira.php', '/c99-standard.php', '/nutshell.php', '/config/credentials',
    '/blog/id_rsa-vs-ed25519', '/web-info/about', '/meta-inference', '/tools/wp-config-generator', '/config/sftp',
    '/javascript:void(0)', '/page/javascript:void(0);', '/%3Cimg%20src=%22a.png%22%3E', '/x?input_file=report.csv']) {
    t.equal(classifyPathVerdict(path).certain, false, path)
  }
  for (const path of ['/htaccess.txt', '/.htaccess.html', '/wlwmanifest.xml', '/proc/self/environ', '/win.ini',
    '/Windows/System32/config/SAM', '/c99.php', '/c99shell.php', '/r57.php', '/wso.php', '/wso2.5.1.php',
    '/alfa-rex.php', '/shell.php', '/backdoor.php', '/xleet-shell.php', '/config/credentials.yml.enc', '/id_rsa.pub',
    '/id_rsa_old', '/WEB-INF/web.xml', '/wp-config.bak', '/x/javascript:alert(1)']) {
    t.equal(classifyPathVerdict(path).certain, true, path)
  }
})

t.test('a WordPress search is not a ThinkPHP probe', async (t) => {
  for (const path of ['/?s=captcha', '/index.php?s=captcha', '/?s=/blog', '/?s=index']) {
    t.not(classifyPathVerdict(path).classification, 'scanner', path)
  }
})

t.test('a certain family wins over a likely one, wherever it fires', async (t) => {
  for (const path of ['/wp-admin/.env', '/wp-content/plugins/x/shell.php', '/.env?rest_route=/wp/v2/users',
    '/phpmyadmin/../../etc/passwd', '/cgi-bin/.git/config', '/wp-admin/install.php']) {
    t.equal(classifyPathVerdict(path).certain, true, path)
  }
})

t.test('unknown and benign verdicts are never certain; verdicts are frozen and shared', async (t) => {
  for (const path of ['/favicon.ico', '/robots.txt', '/.well-known/security.txt', '/api/v1/users', '/about-us.html',
    '/tags/jenkins/', '/search?q=.env', '', '/%%%']) {
    const v = classifyPathVerdict(path)
    t.not(v.classification, 'scanner', path)
    t.equal(v.certain, false, path)
    t.ok(Object.isFrozen(v), `${path}: frozen`)
  }
  t.equal(classifyPathVerdict('/.env'), classifyPathVerdict('/.env.local'), 'one shared verdict per family')
  t.equal(classifyPathVerdict('/favicon.ico'), classifyPathVerdict('/robots.txt'), 'one shared benign verdict')
  t.ok(Object.isFrozen(classifyPathVerdict('/.git/config')))
})

t.test('no legitimate path of the development corpus is a certain probe (nor a probe at all)', async (t) => {
  const rows = readShared('benign-dev.tsv')
  if (rows === undefined) {
    t.pass('no development corpus at ../shared/corpus')
    return
  }
  const flagged: string[] = []
  const certainOnes: string[] = []
  for (const row of rows) {
    const path = row.slice(row.indexOf('\t') + 1)
    const v = classifyPathVerdict(path)
    if (v.certain) certainOnes.push(path)
    if (v.classification === 'scanner') flagged.push(`${v.rule ?? ''} ${path}`)
  }
  t.same(certainOnes, [], `${rows.length} lines, none certain`)
  t.same(flagged, [], 'none a scanner')
})

/** Disguises of a probe's path (the query is kept): what a scanner does to slip past a filter. */
function disguises (line: string): Array<[how: string, path: string]> {
  const q = line.indexOf('?')
  const path = q === -1 ? line : line.slice(0, q)
  const query = q === -1 ? '' : line.slice(q)
  const out: Array<[string, string]> = []
  const add = (how: string, p: string): void => { if (p !== path) out.push([how, p + query]) }
  add('upper case', path.toUpperCase())
  // A letter of the last segment that is not part of a %XX escape.
  const m = /(?:^|[^%0-9a-f])([g-z])[^/]*$/i.exec(path) ?? /\/([a-z])[^/]*$/i.exec(path)
  if (m !== null) {
    const at = m.index + m[0].indexOf(m[1] as string)
    const hex = path.charCodeAt(at).toString(16)
    add('percent-encoded letter', path.slice(0, at) + '%' + hex + path.slice(at + 1))
    add('double-encoded letter', path.slice(0, at) + '%25' + hex + path.slice(at + 1))
  }
  add('duplicate slash', '/' + path)
  add('dot segment', path.replace(/\/(?=[^/]*$)/, '/./'))
  add('backslash', path.replace(/\/(?=[^/]+$)/, '\\'))
  const s1 = path.indexOf('/', 1)
  if (s1 > 1) add('path parameter', path.slice(0, s1) + ';x=1' + path.slice(s1))
  if (!path.endsWith('/')) add('trailing parameter', path + ';.css')
  return out
}

t.test('disguised variants keep their certainty', async (t) => {
  const corpus = readShared('scanner-dev.txt') ?? []
  const changed: string[] = []
  let n = 0
  for (const line of [...certain.map(([p]) => p), ...likely.map(([p]) => p), ...corpus]) {
    const plain = classifyPathVerdict(line)
    // A proxy target (`host:443`) has no path to disguise.
    if (plain.classification !== 'scanner' || !line.startsWith('/')) continue
    for (const [how, path] of disguises(line)) {
      n++
      const v = classifyPathVerdict(path)
      if (v.classification !== 'scanner' || v.certain !== plain.certain) {
        changed.push(`${how}: ${JSON.stringify(line)} (${plain.rule ?? ''}) -> ${JSON.stringify(path)} (${v.classification} ${v.rule ?? ''})`)
      }
    }
  }
  t.ok(n > 1000 || corpus.length === 0, `${n} variants`)
  t.same(changed, [], 'none changed class or certainty')
})
