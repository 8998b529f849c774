// Private keys the plugin hangs off Fastify's and Node's objects, in one
// registry (as fastify's lib/symbols.js): symbols, so nothing collides with a
// property of the app's own, and each has a readable description.

/** On a FastifyRequest: its RequestContext (null until made). */
export const kContext = Symbol('appfirewall.context')
/** On a raw response (and an HTTP/2 raw request): its RequestContext, for the shared listeners that end it. */
export const kRawContext = Symbol('appfirewall.raw-context')
/** On an HTTP/1 socket: the newest of its requests in flight (a list through RequestContext), null once watched and idle. */
export const kInFlight = Symbol('appfirewall.in-flight')
/** On an HTTP/1 socket: what the last user agent sent on it was found to be (request/client.ts). */
export const kUserAgent = Symbol('appfirewall.user-agent')
/** On an IncomingMessage: our hooks saw it (set only while a router-rejected request is open). */
export const kHooksSaw = Symbol('appfirewall.hooks-saw')
/** In the plugin options: fault injection for the fail-open tests (a registered symbol, so tests can reach it). */
export const kFaults = Symbol.for('appfirewall-fastify.faults')
/** On an IncomingMessage Fastify already has: the status Node's parser refused the rest of it with (400, 408). */
export const kRefusedStatus = Symbol('appfirewall.refused-status')
/** On the server: the plugin is registered on an app that serves from it (one registration per server). */
export const kRegistered = Symbol.for('appfirewall-fastify.registered')
