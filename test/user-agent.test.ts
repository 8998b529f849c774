// The attack-tool user-agent signal (`ua_class` on events), table-driven:
// default user agents of scanners are named, ordinary clients are not.
import t from 'tap'
import { classifyUserAgent, MAX_UA_EXAMINED, UA_CACHE_SIZE, userAgentInfo } from '../lib/classify/user-agent'
import http from 'node:http'
import { listen, localApp } from './fixtures'

const tools: Array<[ua: string, family: string]> = [
  ['sqlmap/1.7.2#stable (https://sqlmap.org)', 'sqlmap'],
  ['Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:Port Check)', 'nikto'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Nuclei - Open-source project (github.com/projectdiscovery/nuclei)', 'nuclei'],
  ['Nuclei - Open-source project (github.com/projectdiscovery/nuclei)', 'nuclei'],
  ['Mozilla/5.0 zgrab/0.x', 'zgrab'],
  ['masscan/1.3 (https://github.com/robertdavidgraham/masscan)', 'masscan'],
  ['WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)', 'wpscan'],
  ['gobuster/3.6', 'gobuster'],
  ['Fuzz Faster U Fool v2.1.0-dev', 'ffuf'],
  ['DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)', 'dirbuster'],
  ['feroxbuster/2.10.1', 'feroxbuster'],
  ['Wfuzz/3.1.0', 'wfuzz'],
  ['Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)', 'nmap'],
  ['ZmEu', 'zmeu'],
  ['Morfeus Fucking Scanner', 'morfeus'],
  ['Mozilla/5.0 (Windows NT 6.1) Jorgee', 'jorgee'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0 Safari/537.36 Acunetix-WVS', 'acunetix'],
  ['Mozilla/5.0 (compatible; Netsparker)', 'netsparker'],
  ['w3af.org', 'w3af'],
  ['Mozilla/5.0 SF/2.10b (skipfish)', 'skipfish'],
  ['Arachni/v1.5.1', 'arachni'],
  ['Mozilla/5.0 (compatible; Nessus)', 'nessus'],
  ['Mozilla/5.0 [en] (X11, U; OpenVAS-VT 9.0.3)', 'openvas'],
  ['l9explore/1.2.2', 'leakix'],
  ['WhatWeb/0.5.5', 'whatweb'],
  ['commix/v3.8 (https://commixproject.com)', 'commix'],
  // eslint-disable-next-line no-template-curly-in-string -- a Log4Shell payload, not a template
  ['Mozilla/5.0 ${jndi:ldap://127.0.0.1/a}', 'scanner-generic'],
  ['SQLMAP/1.0', 'sqlmap']
]

t.test('default user agents of attack tools are named by family', async (t) => {
  for (const [ua, family] of tools) t.equal(classifyUserAgent(ua), family, ua)
})

const ordinary = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'curl/8.5.0', 'Wget/1.21.4', 'python-requests/2.31.0', 'python-httpx/0.27.0', 'Python-urllib/3.11',
  'Go-http-client/1.1', 'Go-http-client/2.0', 'okhttp/4.12.0', 'axios/1.6.8', 'node-fetch/1.0', 'undici',
  'Java/17.0.2', 'Apache-HttpClient/4.5.14 (Java/17.0.9)', 'libwww-perl/6.72', 'PostmanRuntime/7.37.0',
  'HTTPie/3.2.2', 'Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)',
  'Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)',
  'Mozilla/5.0 (compatible; StatusCake)', 'Better Uptime Bot Mozilla/5.0',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
  'Mozilla/5.0 (compatible; DuckDuckBot/1.1)', 'facebookexternalhit/1.1', 'Slackbot-LinkExpanding 1.0',
  'Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)',
  'ELB-HealthChecker/2.0', 'kube-probe/1.29', 'GoogleHC/1.0', 'Amazon CloudFront',
  'appfirewall-fastify/0.1.0', 'Roadmap/1.0', 'ImageGrabber/2.0'
]

t.test('browsers, libraries, uptime checkers and crawlers are not attack tools', async (t) => {
  for (const ua of ordinary) t.equal(classifyUserAgent(ua), undefined, ua)
})

t.test('a missing, empty or non-string user agent is not an attack tool', async (t) => {
  t.equal(classifyUserAgent(undefined), undefined)
  t.equal(classifyUserAgent(''), undefined)
  t.equal(classifyUserAgent(42 as any), undefined)
  t.equal(classifyUserAgent(['sqlmap'] as any), undefined)
})

t.test('only the first MAX_UA_EXAMINED characters are examined', async (t) => {
  t.equal(classifyUserAgent('x'.repeat(MAX_UA_EXAMINED) + 'sqlmap'), undefined)
  t.equal(classifyUserAgent('sqlmap/1.7 ' + 'x'.repeat(100_000)), 'sqlmap')
  t.equal(classifyUserAgent('a'.repeat(100_000)), undefined)
})

t.test('answers stay right when they are remembered and when the memory is emptied', async (t) => {
  const sqlmap = 'sqlmap/1.8#stable (https://sqlmap.org)'
  const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36'
  t.equal(classifyUserAgent(sqlmap), 'sqlmap')
  t.equal(classifyUserAgent(sqlmap), 'sqlmap', 'a remembered tool')
  t.equal(classifyUserAgent(chrome), undefined)
  t.equal(classifyUserAgent(chrome), undefined, 'a remembered browser')
  // More distinct user agents than the memory holds, as a client rotating them would send.
  let named = 0
  for (let i = 0; i < UA_CACHE_SIZE * 3; i++) {
    if (classifyUserAgent(`Mozilla/5.0 (rotating ${i}) Gecko/20100101 Firefox/${i}`) !== undefined) named++
    if (classifyUserAgent(`Nikto/2.1.${i}`) === 'nikto') named++
  }
  t.equal(named, UA_CACHE_SIZE * 3, 'only the Nikto user agents were named')
  t.equal(classifyUserAgent(sqlmap), 'sqlmap', 'still right after the memory was emptied')
})

t.test('through the plugin: user agents alike but for their first characters keep their own verdict and text', async (t) => {
  // Equal length and equal last 48 characters: built to collide in any cache
  // keyed by a cheap sample of the string (one was tried in front of the Map
  // and measured no cheaper); only the first characters differ.
  const tail = ' (compatible; probe-' + 'x'.repeat(40) + ')'
  const uas = ['sqlmap/1.7' + tail, 'Xqlmap/1.7' + tail, 'nikto /1.7' + tail, 'Nikto/ 1.7' + tail]
  t.equal(new Set(uas.map((u) => u.length)).size, 1)
  const { app, events } = await localApp(t)
  app.get('/', async () => 'ok')
  for (let round = 0; round < 3; round++) {
    for (const ua of uas) await app.inject({ url: '/', headers: { 'user-agent': ua } })
  }
  const got = (await events()).filter((e) => e.type === 'http_request')
  t.equal(got.length, 12)
  for (let i = 0; i < got.length; i++) {
    const ua = uas[i % uas.length]!
    t.equal(got[i]!.ua, ua, `request ${i}: its own user agent`)
    t.equal(got[i]!.ua_class, classifyUserAgent(ua), `request ${i}: its own verdict`)
  }
})

t.test('one keep-alive connection that changes its user agent: each event carries its own, class and text', async (t) => {
  const h = await localApp(t)
  h.app.get('/', async () => 'ok')
  const port = await listen(h.app)
  const browser = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
  // Same length as the browser's, differing only at the end; then a tool, then the browser again.
  const lookAlike = browser.slice(0, -6) + 'sqlmap'
  const sent = [browser, browser, lookAlike, 'sqlmap/1.8', browser, 'x'.repeat(MAX_UA_EXAMINED + 1) + ' nikto', browser]
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { agent.destroy() })
  const sockets = new Set<unknown>()
  for (const ua of sent) {
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent, headers: { 'user-agent': ua } }, (res) => {
        res.resume()
        res.on('end', resolve)
      })
      req.on('socket', (s) => { sockets.add(s) })
      req.on('error', reject)
    })
  }
  t.equal(sockets.size, 1, 'all over one connection')
  const events = await h.events()
  t.same(events.map((e) => e.ua), sent)
  t.same(events.map((e) => e.ua_class), [undefined, undefined, 'sqlmap', 'sqlmap', undefined, undefined, undefined],
    'the look-alike is read for itself; past the examined prefix a tool name is not looked for')
})

t.test('a user agent that calls itself a crawler is marked so, once per user agent; a browser, a library and a tool are not', async (t) => {
  for (const ua of ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'Mozilla/5.0 (compatible; bingbot/2.0)',
    'facebookexternalhit/1.1', 'Mozilla/5.0 (compatible; YandexBot/3.0)', 'ia_archiver', 'Baiduspider/2.0', 'Mozilla/5.0 (compatible; AhrefsBot/7.0)']) {
    t.equal(userAgentInfo(ua).crawler, true, ua)
  }
  for (const ua of ['Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0', 'python-requests/2.32.3', 'curl/8.5.0', 'sqlmap/1.8', '']) {
    t.equal(userAgentInfo(ua).crawler, false, ua)
  }
})
