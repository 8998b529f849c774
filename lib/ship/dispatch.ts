// How the HTTP exporter reaches the ingest: through the `dispatcher` option,
// a dispatcher the app installed globally, the standard proxy variables, or
// its own connection. Whichever it is, the exporter sends one POST at a time,
// so one keep-alive connection (or one proxy tunnel) carries every batch.
import { EnvHttpProxyAgent, getGlobalDispatcher, Pool } from 'undici'
import type { Dispatcher } from 'undici'
import type { PluginLog } from '../guard'

/** Where the dispatcher came from, in the order they are looked for. */
export type RouteKind = 'option' | 'global' | 'proxy-env' | 'direct'

export interface Route {
  dispatcher: Dispatcher
  kind: RouteKind
  /**
   * Created here, so the exporter destroys it at shutdown. A dispatcher the
   * user passed or installed globally is theirs: never closed, never destroyed.
   */
  owned: boolean
}

export interface RouteOptions {
  /** The ingest's origin (scheme, host, port). */
  origin: string
  /** The `dispatcher` option, if given. */
  dispatcher?: Dispatcher | undefined
  /** Where the proxy variables are read (process.env in the plugin). */
  env: NodeJS.ProcessEnv
  /** Connect, headers and body timeout of the connections created here, in ms. */
  timeoutMs: number
  log: PluginLog
}

/** The proxy variables as undici's EnvHttpProxyAgent reads them: lower case first, an empty value is unset. */
export function proxyEnv (env: NodeJS.ProcessEnv): { httpProxy: string, httpsProxy: string, noProxy: string } {
  return {
    httpProxy: env.http_proxy ?? env.HTTP_PROXY ?? '',
    httpsProxy: env.https_proxy ?? env.HTTPS_PROXY ?? '',
    noProxy: env.no_proxy ?? env.NO_PROXY ?? ''
  }
}

/**
 * The global undici dispatcher (what `fetch` uses) when the app or the runtime
 * installed one, else undefined. undici and Node put a plain `Agent` there when
 * no one else has, and an app's own plain Agent cannot be told apart from it:
 * a plain Agent is therefore not followed (pass it as `dispatcher` instead).
 * Anything else there (a ProxyAgent, an EnvHttpProxyAgent, a MockAgent, a
 * composed or intercepted dispatcher) is a deliberate routing choice.
 */
export function installedGlobalDispatcher (): Dispatcher | undefined {
  let d: Dispatcher | undefined
  try {
    d = getGlobalDispatcher()
  } catch {
    return undefined
  }
  if (d === undefined || d === null || typeof d.dispatch !== 'function') return undefined
  const name = (Object.getPrototypeOf(d) as { constructor?: { name?: string } } | null)?.constructor?.name
  return name === 'Agent' ? undefined : d
}

/** True for an unset proxy variable ('') or an http(s) URL. */
function isProxyUrl (value: string): boolean {
  if (value === '') return true
  const url = URL.canParse(value) ? new URL(value) : undefined
  return url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:')
}

/** A proxy URL fit for a log line: scheme, host and port only (no credentials, no path). */
export function showProxy (value: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) return `(not an http(s) URL, ${value.length} characters)`
  return `${url.protocol}//${url.host}`
}

/** The proxy variables that are set, fit for a log line. */
function shown (vars: { httpProxy: string, httpsProxy: string }): { httpProxy?: string, httpsProxy?: string } {
  const out: { httpProxy?: string, httpsProxy?: string } = {}
  if (vars.httpProxy !== '') out.httpProxy = showProxy(vars.httpProxy)
  if (vars.httpsProxy !== '') out.httpsProxy = showProxy(vars.httpsProxy)
  return out
}

/**
 * Picks how the ingest is reached, in this order: the `dispatcher` option; a
 * global dispatcher the app installed (see installedGlobalDispatcher); the
 * proxy variables (HTTP_PROXY, HTTPS_PROXY, NO_PROXY and their lower-case
 * forms) through an EnvHttpProxyAgent made here; else a Pool of one
 * keep-alive connection made here. Never throws: proxy variables undici
 * cannot use are logged once and the ingest is reached directly.
 */
export function chooseRoute (opts: RouteOptions): Route {
  // One connection, one request on it: the exporter never sends two POSTs at
  // once, and undici keeps the connection alive between batches.
  const shape = {
    connections: 1,
    pipelining: 1,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    connect: { timeout: opts.timeoutMs }
  }
  if (opts.dispatcher !== undefined) return { dispatcher: opts.dispatcher, kind: 'option', owned: false }
  const global = installedGlobalDispatcher()
  if (global !== undefined) {
    const name = (Object.getPrototypeOf(global) as { constructor?: { name?: string } } | null)?.constructor?.name ?? 'dispatcher'
    opts.log.info({ dispatcher: name, endpoint: opts.origin }, 'appfirewall: reaching the ingest through the global undici dispatcher the app installed')
    return { dispatcher: global, kind: 'global', owned: false }
  }
  const vars = proxyEnv(opts.env)
  if (vars.httpProxy !== '' || vars.httpsProxy !== '') {
    const warning = 'appfirewall: HTTP_PROXY/HTTPS_PROXY is not a proxy URL undici can use (it needs http:// or https://); the ingest is reached directly'
    // undici also takes socks5:// (experimental, with a process warning of its
    // own): what is documented, and logged as used, is an http(s) proxy only.
    if (!isProxyUrl(vars.httpProxy) || !isProxyUrl(vars.httpsProxy)) opts.log.warn(shown(vars), warning)
    else {
      try {
        // Passed explicitly, so the agent uses exactly the values checked here.
        const dispatcher = new EnvHttpProxyAgent({ ...shape, ...vars })
        opts.log.info({ ...shown(vars), noProxy: vars.noProxy, endpoint: opts.origin }, 'appfirewall: proxy variables set; the ingest is reached through them unless NO_PROXY matches it')
        return { dispatcher, kind: 'proxy-env', owned: true }
      } catch (err) {
        opts.log.warn({ err, ...shown(vars) }, warning)
      }
    }
  }
  return { dispatcher: new Pool(opts.origin, shape), kind: 'direct', owned: true }
}
