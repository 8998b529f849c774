// The classifier scans a request target that is already normalised but for
// ASCII case in one pass over the raw string (lib/classify/path-scan.ts,
// scanTarget), and any other after the normaliser. Both must find exactly the
// same: here over the kept corpora and generated disguises of them (case,
// percent-encoding, slashes, dot segments, backslashes, parameters, NUL,
// junk, unicode, queries, limits), the scan results must be equal wherever
// the one-pass scan applies, and it must apply to ordinary paths.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { classifyPathVerdict, scanBothWays } from '../lib/classify/classify'
import { MAX_EXAMINED, MAX_SEGMENTS } from '../lib/classify/limits'

const corpusDir = join(__dirname, 'fixtures', 'corpus')
const readLines = (file: string): string[] =>
  readFileSync(join(corpusDir, file), 'utf8').split('\n').filter((l) => l !== '')

const legit = readLines('legit.txt')
const probes = readLines('probes-extra.txt')
const disguised = readLines('disguised.txt').map((l) => JSON.parse(l) as string)

// A fixed pseudo-random sequence: the same inputs on every run.
let seed = 20240610
const random = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
  return seed / 0x100000000
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T

const mutations: Array<(s: string) => string> = [
  (s) => s.toUpperCase(),
  (s) => [...s].map((c) => random() < 0.5 ? c.toUpperCase() : c).join(''),
  (s) => s.replace(/\//g, '//'),
  (s) => s + '/',
  (s) => s + '.',
  (s) => s + '?',
  (s) => s + '?' + pick(['Q=a+b', 'x=A\\B', 'f=../../etc/passwd', 'a=%2e', 'q=\u00e9', 'x?y', 'p=C:\\Windows', 'cmd=ID&x=1']),
  (s) => s.replace('/', '/./'),
  (s) => s.replace(/\/([^/]*)$/, '/zz/../$1'),
  (s) => s.replace(/\//g, '\\'),
  (s) => s.replace(/\.(\w+)$/, ';x=1.$1'),
  (s) => s + '%00.jpg',
  (s) => [...s].map((c) => random() < 0.2 ? '%' + c.charCodeAt(0).toString(16).padStart(2, '0') : c).join(''),
  (s) => s.replace(/\./g, '%2e'),
  (s) => s.replace(/\./g, '\uff0e'),
  (s) => s.replace(/a/g, '\u00e9'),
  (s) => s + pick([' ', '\t', '::$DATA', '#top', '\u007f', ':8080']),
  (s) => s.replace(/\//g, '/.'),
  (s) => s.replace(/^\//, ''),
  (s) => 'http://example.com' + s,
  (s) => s + '/' + 'a/'.repeat(MAX_SEGMENTS + pick([-2, -1, 0, 1])),
  (s) => s + '/' + 'x'.repeat(250 + Math.floor(random() * 10)),
  (s) => s + 'y'.repeat(Math.max(0, MAX_EXAMINED - s.length + pick([-1, 0, 1]))),
  (s) => s + '.' + pick(['php', 'PHP', 'bak', 'json', 'zip', 'png', 'map', 'env']),
  (s) => pick(['/tags', '/docs', '/.well-known', '/uploads', '/vendor', '/wp-content']) + s,
  (s) => s.replace(/-/g, '+'),
  (s) => s.replace(/\//g, '/~')
]

const inputs = [...legit, ...probes, ...disguised, '/', '/?', '/?x', '//', '/.', '/..', '/a/', '/a.', '/.a', '/A/.B/', '/a?b?c']
for (const base of [...legit, ...probes, ...disguised]) {
  for (let k = 0; k < 3; k++) {
    let v = base
    const n = 1 + Math.floor(random() * 3)
    for (let j = 0; j < n; j++) v = pick(mutations)(v)
    inputs.push(v)
  }
}

t.test('the one-pass scan and the normaliser find the same, wherever the one-pass scan applies', async (t) => {
  let applied = 0
  const differ: string[] = []
  for (const target of inputs) {
    const { shortcut, normalized } = scanBothWays(target)
    if (shortcut === undefined) continue
    applied++
    // The shortcut never sees a traversal: that needs a `..` segment or a disguise.
    if (normalized === undefined) {
      differ.push(`${JSON.stringify(target)}: one pass, but a traversal after the normaliser`)
      continue
    }
    // `upper` says only whether the raw target may hold capitals.
    const { upper, ...one } = shortcut.scan
    const { upper: _, ...other } = normalized.scan
    if (shortcut.path !== normalized.path || JSON.stringify(one) !== JSON.stringify(other) ||
        (!upper && shortcut.path !== target.slice(0, shortcut.scan.end))) {
      differ.push(`${JSON.stringify(target)}: ${JSON.stringify(shortcut)} vs ${JSON.stringify(normalized)}`)
    }
  }
  t.same(differ.slice(0, 20), [], `${differ.length} targets scan differently`)
  // Disguised variants mostly need the normaliser; enough of them do not to exercise both ways.
  t.ok(applied > 5000, `the one-pass scan applies to ${applied} of ${inputs.length} targets`)
})

t.test('the one-pass scan applies to most paths of the kept legitimate and probe corpora', async (t) => {
  for (const [name, lines] of [['legit.txt', legit], ['probes-extra.txt', probes]] as const) {
    const applied = lines.filter((p) => scanBothWays(p).shortcut !== undefined).length
    t.ok(applied > lines.length * 0.9, `${name}: ${applied} of ${lines.length}`)
  }
})

t.test('the one-pass scan applies to ordinary paths', async (t) => {
  const ordinary = [
    '/favicon.ico', '/.env', '/.git/config', '/wp-login.php', '/API/v1/Users?page=2&Sort=Name', '/search?q=shell+jacket',
    '/index.php?s=/index/\\think\\app/invokefunction', '/phpmyadmin/', '/', '/images/hero@2x.png', '/a.b.c/d_e-f~g'
  ]
  for (const target of ordinary) t.not(scanBothWays(target).shortcut, undefined, target)
  const refused = ['/a//b', '/a/./b', '/a/../b', '/a.', '/a;b', '/a%2eb', '/a\\b', '/a b', '/caf\u00e9', '/x?q=%41', 'x', '']
  for (const target of refused) t.equal(scanBothWays(target).shortcut, undefined, JSON.stringify(target))
})

t.test('verdicts do not depend on letter case where the one-pass scan applies', async (t) => {
  // The one-pass scan folds ASCII case in its table; the normaliser lowercases.
  const differ = legit.concat(probes).filter((p) => {
    const upper = p.toUpperCase()
    return scanBothWays(upper).shortcut !== undefined && classifyPathVerdict(upper) !== classifyPathVerdict(p.toLowerCase())
  })
  t.same(differ, [])
})
