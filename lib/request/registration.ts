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

// Paths a catch-all registered before the plugin would answer; checked once, at ready.
const PROBES = ['/.env', '/.git/config', '/wp-login.php', '/api/.env', '/assets/.env', '/static/.env']

/**
 * Gives every wildcard route (a `*` in its url: `/*`, `/assets/*`, `/:path*`,
 * a regular expression parameter; @fastify/static's `wildcard: true` route is
 * `/*`) the route-level onRequest hook `mark`, first among its own, as the
 * route is registered: a request such a route answers has its path
 * classified even when the answer is a 200 (an SPA's index.html), and other
 * routes pay nothing. An SPA fallback through setNotFoundHandler needs none
 * of this: its requests are 404s to Fastify (request.is404).
 *
 * onRoute sees only the routes registered after the plugin (`await
 * app.register(appFirewall)` first). At ready, a few probe paths are looked
 * up: if one is answered by a catch-all the hook never saw, `wildcards.unmarked`
 * turns the per-request fallback on.
 */
export function markWildcardRoutes (fastify: FastifyInstance, mark: onRequestHookHandler, wildcards: WildcardRoutes, guard: Guard): void {
  const marked = new Set<string>()
  fastify.addHook('onRoute', (route) => {
    try {
      if (typeof route.url !== 'string' || !route.url.includes('*')) return
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
        const rest = (fastify.findRoute({ method: 'GET', url: probe })?.params as Record<string, unknown> | undefined)?.['*']
        if (typeof rest !== 'string' || rest.length > probe.length) continue
        if (!marked.has('GET ' + probe.slice(0, probe.length - rest.length) + '*')) {
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
