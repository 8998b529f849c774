'use strict'
// A small app with the plugin, as a user would write it. Used by the demo.
const Fastify = require('fastify')
const appFirewall = require('..')
const { record } = appFirewall

async function buildApp (pluginOptions) {
  const app = Fastify()
  await app.register(appFirewall, pluginOptions)

  app.get('/', async () => ({ hello: 'world' }))
  app.get('/products/:id', async (request) => ({ id: request.params.id }))
  app.get('/health', async () => 'ok')

  app.post('/login', async (request, reply) => {
    const { user, password } = request.body ?? {}
    if (password !== 'correct horse') {
      // From deep inside the handler's call stack: no request object needed.
      auditFailure(user)
      return reply.code(401).send({ error: 'invalid credentials' })
    }
    return { ok: true }
  })

  return app
}

function auditFailure (user) {
  record('auth.login_failed', { user: String(user) })
}

module.exports = { buildApp }
