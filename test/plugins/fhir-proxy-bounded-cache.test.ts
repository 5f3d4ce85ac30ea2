import t from 'tap'
import { BoundedCache } from '../../lib/bounded-cache.js'

t.test('a value is made once per key, and everything is forgotten past the bound', async (t) => {
  const made: string[] = []
  const cache = new BoundedCache<string>(3)
  const make = (key: string) => { made.push(key); return key.toUpperCase() }
  t.same(['a', 'b', 'a', 'c', 'b'].map((key) => cache.get(key, make)), ['A', 'B', 'A', 'C', 'B'])
  t.same(made, ['a', 'b', 'c'], 'each key made once')
  t.equal(cache.get('d', make), 'D', 'a fourth key clears the three before it')
  t.equal(cache.get('a', make), 'A')
  t.same(made, ['a', 'b', 'c', 'd', 'a'], '"a" was made again')
})

t.test('a key whose value cannot be made is not kept', async (t) => {
  const cache = new BoundedCache<string>()
  let calls = 0
  const failing = () => { calls++; throw new Error('bad base') }
  t.throws(() => cache.get('x', failing), /bad base/)
  t.throws(() => cache.get('x', failing), /bad base/)
  t.equal(calls, 2)
})
