'use strict'

const neostandard = require('neostandard')

module.exports = [
  ...neostandard({
    ts: true,
    ignores: [...neostandard.resolveIgnoresFromGitignore(), 'test/fixtures/consumer/**']
  }),
  {
    // Users match errors on their code: everything the package creates comes
    // from the table in lib/errors.ts (@fastify/error), never a bare Error.
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: 'NewExpression[callee.name=/^(Error|TypeError|RangeError|SyntaxError)$/], CallExpression[callee.name=/^(Error|TypeError|RangeError|SyntaxError)$/]',
        message: 'Create errors from the coded table in lib/errors.ts (errorCodes), never a bare Error.'
      }]
    }
  }
]
