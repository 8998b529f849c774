// Installs the packed tarball into a fresh project, like a user would, and
// loads it through require, import (default and named) and a TypeScript
// consumer. Slow (npm pack + install): one file, generous timeout.
import { test } from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync, readdirSync, symlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { tempDir } from './fixtures'

const root = resolve(__dirname, '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function run (cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 })
}

test('the packed tarball installs and loads through require, import and TypeScript', { timeout: 240_000 }, async (t) => {
  const work = tempDir('afw-pack-')
  // --ignore-scripts: the suite builds dist/ before tap runs; prepack would rebuild it concurrently.
  run(npm, ['pack', '--ignore-scripts', '--pack-destination', work], root)
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))
  t.ok(tarball, 'npm pack produced a tarball')
  const project = join(work, 'consumer')
  mkdirSync(project)
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }))
  const fastifyVersion = require('fastify/package.json').version as string
  run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball as string), `fastify@${fastifyVersion}`], project)

  const files = run(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], root)
  const listed = (JSON.parse(files)[0].files as Array<{ path: string }>).map((f) => f.path)
  t.ok(listed.includes('dist/index.js') && listed.includes('dist/index.d.ts') && listed.includes('LICENSE'))
  t.notOk(listed.some((p) => p.startsWith('lib/') || p.startsWith('test/')), 'only dist, README and LICENSE are shipped')

  writeFileSync(join(project, 'cjs.js'), `
    const fastify = require('fastify')
    const af = require('appfirewall-fastify')
    const { appFirewall, record, classifyPath } = require('appfirewall-fastify')
    if (typeof af !== 'function' || af !== appFirewall || af.default !== af) throw new Error('bad CJS exports')
    if (classifyPath('/.env') !== 'scanner') throw new Error('classifyPath')
    const app = fastify()
    app.register(af, { mode: 'off' })
    app.get('/', async (req) => ({ ip: req.appfirewall.ip, rec: typeof record }))
    app.inject({ url: '/', remoteAddress: '192.0.2.1' }).then((res) => { console.log(res.body); return app.close() })
  `)
  t.equal(run('node', ['cjs.js'], project).trim(), '{"ip":"192.0.2.1","rec":"function"}')

  writeFileSync(join(project, 'esm.mjs'), `
    import Fastify from 'fastify'
    import af, { appFirewall, record, classifyPath, errorCodes, defaults } from 'appfirewall-fastify'
    import * as ns from 'appfirewall-fastify'
    if (af !== appFirewall || ns.default !== af || typeof record !== 'function') throw new Error('bad ESM exports')
    // Every value export is a named export too (Node's CommonJS detection sees only plain local names).
    for (const name of ['appFirewall', 'record', 'classifyPath', 'classifyPathVerdict', 'errorCodes', 'defaults']) {
      if (ns[name] !== af[name]) throw new Error('named export missing: ' + name)
    }
    if (defaults.queueSize !== 10000 || typeof errorCodes.FST_APPFIREWALL_INVALID_OPTIONS !== 'function') throw new Error('bad values')
    const v = ns.classifyPathVerdict('/.git/config')
    if (v.classification !== 'scanner' || v.rule !== 'vcs' || v.certain !== true) throw new Error('bad verdict ' + JSON.stringify(v))
    const app = Fastify()
    await app.register(af, { mode: 'off' })
    app.get('/', async (req) => ({ ip: req.appfirewall.ip, c: classifyPath('/favicon.ico') }))
    const res = await app.inject({ url: '/', remoteAddress: '2001:db8::1' })
    console.log(res.body)
    await app.close()
  `)
  t.equal(run('node', ['esm.mjs'], project).trim(), '{"ip":"2001:db8::1","c":"benign-miss"}')

  // A TypeScript consumer (nodenext, strict, skipLibCheck false) type-checks against the packed types.
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: [] },
    files: ['consumer.mts']
  }))
  writeFileSync(join(project, 'consumer.mts'), `
    import Fastify from 'fastify'
    import appFirewall, { record, classifyPath, errorCodes, defaults, type AppFirewallOptions } from 'appfirewall-fastify'
    const opts: AppFirewallOptions = { mode: 'local', localLogPath: process.argv[2] ?? '/tmp/x.ndjson', trustedProxies: ['cloudflare'], cloudflareRefreshMs: 0 }
    const app = Fastify()
    await app.register(appFirewall, opts)
    app.get('/', async (request) => {
      request.appfirewall.record('auth.login_failed', { user: 'x' })
      record('y')
      const ip: string = request.appfirewall.ip
      return { ip, c: classifyPath(request.url) }
    })
    const n: number = app.appfirewall.stats().emitted
    const ok: boolean = await app.appfirewall.flush()
    const q: number = defaults.queueSize
    try {
      await Fastify().register(appFirewall, { mode: 'loud' } as unknown as AppFirewallOptions)
    } catch (err) {
      if (!(err instanceof errorCodes.FST_APPFIREWALL_INVALID_OPTIONS)) throw err
      const code: 'FST_APPFIREWALL_INVALID_OPTIONS' = err.code
      console.log(code)
    }
    console.log(n, ok, q)
    await app.close()
  `)
  // Reuse this repo's TypeScript and Node types rather than installing them again.
  mkdirSync(join(project, 'node_modules', '@types'), { recursive: true })
  symlinkSync(join(root, 'node_modules', '@types', 'node'), join(project, 'node_modules', '@types', 'node'))
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  let out = ''
  try {
    out = run('node', [tsc, '-p', 'tsconfig.json'], project)
  } catch (err) {
    out = String((err as { stdout?: string }).stdout) + String((err as { stderr?: string }).stderr)
  }
  t.equal(out.trim(), '', 'the TypeScript consumer type-checks')
  // ...and runs: compiled by the same tsc, executed as ESM.
  writeFileSync(join(project, 'tsconfig.emit.json'), JSON.stringify({
    extends: './tsconfig.json', compilerOptions: { noEmit: false, outDir: 'out' }
  }))
  run('node', [tsc, '-p', 'tsconfig.emit.json'], project)
  t.equal(run('node', [join('out', 'consumer.mjs'), join(work, 'consumer-events.ndjson')], project).trim(), 'FST_APPFIREWALL_INVALID_OPTIONS\n0 true 10000')
})
