// Where the plugin is registered, and when, decides what it covers. fastify-plugin lets
// its hooks and decorators reach the instance it is registered on; inside an
// encapsulated plugin that is only that plugin's subtree: every other route,
// and the app's own 404 handler, go unseen, and `request.appfirewall` is
// undefined there (a TypeError in code that type-checks). And a route's
// own options are seen only for the routes registered after the plugin
// (wildcard routes, below).
import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import { FST_APPFIREWALL_ALREADY_REGISTERED } from '../errors'
import type { Guard, PluginLog } from '../guard'
import { kRegistered } from '../symbols'

/** Process warning code of a registration inside an encapsulated plugin. */
export const ENCAPSULATED_WARNING = 'APPFIREWALL_ENCAPSULATED'
let encapsulatedWarned = false

/**
 * Throws FST_APPFIREWALL_ALREADY_REGISTERED when this instance (or a parent)
 * already has the plugin; warns, through the logger and once per process as
 * a process warning (a disabled logger must not hide it), when the instance
 * is not the root.
 */
export function checkRegistration (fastify: FastifyInstance, log: PluginLog): void {
  // Also across sibling encapsulated plugins, which cannot see each other's
  // decorators but share one server: two registrations would record every
  // request the server refuses twice.
  const server = fastify.server as unknown as { [kRegistered]?: boolean } | undefined
  if (fastify.hasRequestDecorator('appfirewall') || fastify.hasDecorator('appfirewall') || server?.[kRegistered] === true) {
    throw new FST_APPFIREWALL_ALREADY_REGISTERED()
  }
  if (server !== undefined && server !== null) server[kRegistered] = true
  // The root instance is a plain object; every encapsulated child is made
  // with Object.create(parent) (fastify's pluginOverride).
  if (Object.getPrototypeOf(fastify) === Object.prototype) return
  const where = fastify.prefix === '' ? 'an encapsulated plugin' : `an encapsulated plugin (prefix "${fastify.prefix}")`
  const msg = `appfirewall: registered inside ${where}: only the routes of that plugin are covered; other routes and the app's 404 handler leave no event, and request.appfirewall is undefined there. Register it on the root instance (wrap the parent in fastify-plugin, or register it first at the top level).`
  log.warn({ prefix: fastify.prefix }, msg)
  if (!encapsulatedWarned) {
    encapsulatedWarned = true
    process.emitWarning(msg, { code: ENCAPSULATED_WARNING, type: 'AppFirewallWarning' })
  }
}

/** What the wildcard routes of an app left to do per request (request/hooks.ts reads it). */
export interface WildcardRoutes {
  /**
   * A catch-all registered before the plugin answers probe paths: onRoute
   * never saw it, so its requests are known by their `*` param where they end
   * (a property read per request, paid only by such an app).
   */
  unmarked: boolean
}

// Paths a root catch-all registered before the plugin would answer; checked once, at ready.
const PROBES = ['/.env', '/.git/config', '/wp-login.php']

/** Methods a page's fallback answers: a catch-all that takes POST is a proxy or an API, whose paths are not pages. */
const PAGE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Whether requests a route answers are classified as an SPA's catch-all:
 * the route's own `config.appfirewall.catchAll` when it is a boolean, else a
 * root catch-all (`/*`, what an SPA's fallback and @fastify/static's
 * `wildcard: true` register) that answers GET and HEAD only. Other `*`
 * routes serve data named by their path (a wiki's `/wiki/*` page titled
 * `Cmd.exe`, a code browser's `/blob/main/.gitignore`, a proxy's `app.all('/*')`
 * in front of WordPress): their paths are not probes.
 */
export function isCatchAll (url: unknown, method: unknown, config: unknown): boolean {
  const own = (config as { appfirewall?: { catchAll?: unknown } } | undefined)?.appfirewall?.catchAll
  if (typeof own === 'boolean') return own
  if (url !== '/*' && url !== '*') return false
  const methods = Array.isArray(method) ? method : [method]
  return methods.every((m) => typeof m === 'string' && PAGE_METHODS.has(m.toUpperCase()))
}

/**
 * Gives each catch-all route (isCatchAll) the route-level onRequest hook
 * `mark`, first among its own, as the route is registered: a request such a
 * route answers has its path classified even when the answer is a 200 (an
 * SPA's index.html), and other routes pay nothing. An SPA fallback through
 * setNotFoundHandler needs none of this: its requests are 404s to Fastify
 * (request.is404).
 *
 * onRoute sees only the routes registered after the plugin (`await
 * app.register(appFirewall)` first). At ready, a few probe paths are looked
 * up: if one is answered by a root catch-all the hook never saw,
 * `wildcards.unmarked` turns the per-request fallback on.
 */
export function markWildcardRoutes (fastify: FastifyInstance, mark: onRequestHookHandler, wildcards: WildcardRoutes, guard: Guard): void {
  const marked = new Set<string>()
  // Every route onRoute saw, catch-all or not: the fallback is for routes it never saw.
  const seen = new Set<string>()
  fastify.addHook('onRoute', (route) => {
    try {
      for (const method of Array.isArray(route.method) ? route.method : [route.method]) seen.add(`${method} ${route.url}`)
      if (!isCatchAll(route.url, route.method, route.config)) return
      const own = route.onRequest
      route.onRequest = own === undefined ? [mark] : Array.isArray(own) ? [mark, ...own] : [mark, own]
      for (const method of Array.isArray(route.method) ? route.method : [route.method]) marked.add(`${method} ${route.url}`)
    } catch (err) {
      guard.error(err, 'register')
    }
  })
  fastify.addHook('onReady', function unmarkedCatchAll (done) {
    try {
      for (const probe of PROBES) {
        const found = fastify.findRoute({ method: 'GET', url: probe }) as { params?: Record<string, unknown> } | null
        // A root catch-all swallows the whole path.
        if (found?.params?.['*'] !== probe.slice(1)) continue
        if (seen.has('GET /*') || seen.has('GET *')) break
        // Registered before the plugin: judged as onRoute would have, from what
        // the router tells (its methods; not its config, which findRoute does not give).
        const post = fastify.findRoute({ method: 'POST', url: probe }) as { params?: Record<string, unknown> } | null
        if (isCatchAll('/*', post?.params?.['*'] === probe.slice(1) ? ['GET', 'POST'] : ['GET'], undefined)) {
          wildcards.unmarked = true
          break
        }
      }
    } catch (err) {
      guard.error(err, 'register')
    }
    done()
  })
}
