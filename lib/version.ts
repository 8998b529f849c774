import { readFileSync } from 'node:fs'
import { join } from 'node:path'

// Read at runtime rather than imported: `import ... from '../package.json'`
// would make tsc copy package.json into dist/ and change the build's rootDir.
// lib/ (under tap) and dist/ (built) both sit one level below the package root.
function readVersion (): string {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: unknown }
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0'
  } catch {
    // A bundler that moved this file must not stop the plugin from loading.
    return '0.0.0'
  }
}

export const VERSION: string = readVersion()

/** Sent with every batch so an ingest can tell SDKs and versions apart. */
export const USER_AGENT = `appfirewall-fastify/${VERSION}`
