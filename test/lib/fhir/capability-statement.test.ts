import t from 'tap'
import { CapabilityCache, gatewayCapabilityStatement } from '../../../lib/fhir/capability-statement.js'

t.test('the cache: one fetch per practice per TTL, shared by concurrent callers, bounded, failures not kept', async (t) => {
  let now = 0
  const cache = new CapabilityCache({ maxPractices: 2, ttlMs: 1000, now: () => now })
  const fetched: string[] = []
  const load = (base: string) => async () => { fetched.push(base); await new Promise((resolve) => setTimeout(resolve, 5)); return `{"base":"${base}"}` }

  const [a, b] = await Promise.all([cache.get('A', load('A')), cache.get('A', load('A'))])
  t.equal(a, '{"base":"A"}')
  t.equal(b, a)
  t.same(fetched, ['A'], 'concurrent callers share one fetch')
  await cache.get('A', load('A'))
  t.same(fetched, ['A'], 'kept')
  now = 1001
  await cache.get('A', load('A'))
  t.same(fetched, ['A', 'A'], 'fetched again after the TTL')

  await cache.get('B', load('B'))
  await cache.get('C', load('C'))
  t.equal(cache.size, 2, 'at most maxPractices kept')
  await cache.get('A', load('A'))
  t.same(fetched.at(-1), 'A', 'the oldest was dropped')

  await t.rejects(cache.get('D', async () => { throw new Error('Healow down') }), /Healow down/)
  t.equal(await cache.get('D', async () => 'fine'), 'fine', 'a failure is not kept')
})

t.test('the statement served: Healow\'s login, CORS claim and address removed, the rest kept', async (t) => {
  const upstream = {
    resourceType: 'CapabilityStatement',
    fhirVersion: '4.0.1',
    implementation: { description: 'Practice', url: 'https://fhir4.healow.com/fhir/r4/ABCDEF' },
    rest: [{ mode: 'server', security: { cors: true, extension: [{ url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris' }] }, resource: [{ type: 'Observation' }] }]
  }
  const served = gatewayCapabilityStatement(upstream, 'https://gw.example.org')!
  t.same(served.implementation, { description: 'Practice' })
  t.match(served.rest, [{ mode: 'server', resource: [{ type: 'Observation' }], security: { description: /https:\/\/gw\.example\.org\/healow\/connect/ } }])
  t.notMatch(JSON.stringify(served), /oauth-uris|healow\.com|"cors"/)
  t.equal(gatewayCapabilityStatement({ resourceType: 'Bundle' }, 'x'), undefined)
  t.equal(gatewayCapabilityStatement([], 'x'), undefined)
  t.equal(gatewayCapabilityStatement('text', 'x'), undefined)
})
