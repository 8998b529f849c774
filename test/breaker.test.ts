import t from 'tap'
import { Breaker } from '../lib/ship/breaker'

t.test('opens after the threshold of failures in a row and not before', async (t) => {
  const b = new Breaker(3, 1000)
  t.equal(b.onFailure(0), false)
  t.equal(b.onFailure(0), false)
  t.equal(b.state, 'closed')
  t.equal(b.onFailure(10), true, 'reports the transition')
  t.equal(b.state, 'open')
  t.equal(b.readyAt(500), 1010, 'no send before the cooldown ends')
  t.equal(b.state, 'open')
})

t.test('an answer resets the count of failures in a row', async (t) => {
  const b = new Breaker(2, 1000)
  b.onFailure(0)
  t.equal(b.onAnswer(), false, 'closing a closed breaker is no transition')
  b.onFailure(0)
  t.equal(b.state, 'closed')
})

t.test('goes half open after the cooldown; a successful probe closes it', async (t) => {
  const b = new Breaker(1, 1000)
  b.onFailure(0)
  t.equal(b.readyAt(1000), 1000)
  t.equal(b.state, 'half_open')
  t.equal(b.onAnswer(), true)
  t.equal(b.state, 'closed')
})

t.test('a failed probe opens it again for a full cooldown', async (t) => {
  const b = new Breaker(5, 1000)
  for (let i = 0; i < 5; i++) b.onFailure(0)
  b.readyAt(2000)
  t.equal(b.state, 'half_open')
  t.equal(b.onFailure(2000), true, 'one failure is enough while half open')
  t.equal(b.state, 'open')
  t.equal(b.readyAt(2500), 3000)
})

t.test('ending the cooldown early makes the next send the probe', async (t) => {
  const b = new Breaker(1, 60000)
  b.onFailure(0)
  b.endCooldown()
  t.equal(b.readyAt(1), 1)
  t.equal(b.state, 'half_open')
  const c = new Breaker(1, 60000)
  c.endCooldown()
  t.equal(c.state, 'closed', 'no effect on a closed breaker')
})
