// The option table in lib/option-table.ts is the one source of every option:
// these tests hold the README, the exported defaults and the resolved options
// to it, so that adding an option means adding one table entry (and its tests).
import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Fastify from 'fastify'
import appFirewall from '../lib/index'
import { optionTable, optionsTableMarkdown } from '../lib/option-table'
import { tempDir } from './fixtures'

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8')

function between (text: string, start: string, end: string): string {
  const a = text.indexOf(start)
  const b = text.indexOf(end, a)
  if (a === -1 || b === -1) return ''
  return text.slice(a + start.length, b).trim()
}

test('the README option table is the one rendered from the option table (npm run docs:options rewrites it)', async (t) => {
  const documented = between(readme, '<!-- options:start -->', '<!-- options:end -->')
  t.not(documented, '', 'the README marks its option table')
  t.equal(documented, optionsTableMarkdown())
})

test('the exported defaults are what an app gets when it passes nothing', async (t) => {
  const app = Fastify()
  await app.register(appFirewall, { mode: 'local', localLogPath: join(tempDir(), 'e.ndjson') })
  await app.ready()
  t.teardown(() => app.close())
  const resolved = app.appfirewall.options as unknown as Record<string, unknown>
  const defaults = appFirewall.defaults as unknown as Record<string, unknown>
  t.ok(Object.isFrozen(defaults), 'frozen')
  t.ok(Object.isFrozen(defaults.trustedProxies) && Object.isFrozen(defaults.rateLimit), 'frozen all the way down')
  for (const [name, spec] of Object.entries(optionTable)) {
    const value: unknown = (spec as { default?: unknown }).default
    if (value === undefined) {
      t.notOk(name in defaults, `${name} has no default`)
      continue
    }
    t.same(defaults[name], value, `defaults.${name}`)
    if (name !== 'mode') t.same(resolved[name], value, `options.${name} defaults to it`)
  }
})

test('every option is in the schema, and an option the table lacks is refused by name', async (t) => {
  for (const name of Object.keys(optionTable)) t.match(readme, `\`${name}\``, `${name} is documented`)
  const app = Fastify()
  await t.rejects(async () => { await app.register(appFirewall, { mode: 'off', notAnOption: 1 } as any) }, { code: 'FST_APPFIREWALL_INVALID_OPTIONS', message: /unknown option "notAnOption"/ })
})

test('errorCodes lists every coded error, each documented in the README', async (t) => {
  const codes = Object.entries(appFirewall.errorCodes)
  t.ok(codes.length >= 2)
  for (const [name, Ctor] of codes) {
    const err = new Ctor('x', 'y')
    t.equal(err.code, name, `${name} makes errors with that code`)
    t.ok(err instanceof Error && err instanceof Ctor, `${name} errors are Errors and instances of their constructor`)
    t.match(readme, name, `${name} is in the README`)
  }
  const { errorCodes } = require('../lib/index') as typeof appFirewall
  t.equal(errorCodes, appFirewall.errorCodes, 'also a named export')
})

test('the JSDoc of every option (what editors show) states the default of the table', async (t) => {
  const types = readFileSync(join(__dirname, '..', 'lib', 'types.ts'), 'utf8')
  const body = between(types, 'export interface AppFirewallOptions {', '\n}\n')
  for (const [name, spec] of Object.entries(optionTable) as Array<[string, { default?: unknown, defaultText?: string }]>) {
    const m = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\n  ${name}\\?:`).exec(body)
    t.ok(m, `${name} has a JSDoc comment`)
    const doc = (m?.[1] ?? '').replace(/\s*\n\s*\*\s?/g, ' ')
    if (spec.default === undefined) {
      t.notMatch(doc, /Default:/, `${name} claims no default`)
    } else {
      const expected = spec.defaultText ?? '`' + JSON.stringify(spec.default) + '`'
      t.ok(doc.includes(`Default: ${expected}.`), `${name}: "Default: ${expected}." in "${doc.trim()}"`)
      t.notMatch(doc, /\(default/i, `${name} states its default once`)
    }
  }
})
