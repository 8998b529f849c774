'use strict'
// Rewrites the README's option table from lib/option-table.ts (built first:
// npm run docs:options). test/options-table.test.ts fails until the README
// matches the table, so an option is documented where it is declared.
const { readFileSync, writeFileSync } = require('node:fs')
const { join } = require('node:path')
const { optionsTableMarkdown } = require(process.env.AFW_DIST ? join(process.env.AFW_DIST, 'option-table.js') : '../dist/option-table.js')

const file = join(__dirname, '..', 'README.md')
const START = '<!-- options:start -->'
const END = '<!-- options:end -->'
const text = readFileSync(file, 'utf8')
const a = text.indexOf(START)
const b = text.indexOf(END, a)
if (a === -1 || b === -1) throw new Error(`README.md has no ${START} ... ${END} block`)
const next = text.slice(0, a + START.length) + '\n' + optionsTableMarkdown() + '\n' + text.slice(b)
if (next !== text) writeFileSync(file, next)
console.log(next === text ? 'README option table already up to date' : 'README option table rewritten')
