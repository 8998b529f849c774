#!/usr/bin/env node
'use strict'

// The package's command line: `appfirewall-fastify report FILE...` (see
// `--help`). All of it lives in dist/report/cli.js; this shim only starts it.
require('../dist/report/cli.js').run(process.argv.slice(2))
