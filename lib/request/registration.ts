// Where the plugin is registered decides what it covers. fastify-plugin lets
// its hooks and decorators reach the instance it is registered on; inside an
// encapsulated plugin that is only that plugin's subtree: every other route,
// and the app's own 404 handler, go unseen, and `request.appfirewall` is
// undefined there (a TypeError in code that type-checks).
import type { FastifyInstance } from 'fastify'
import { FST_APPFIREWALL_ALREADY_REGISTERED } from '../errors'
import type { PluginLog } from '../guard'
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
