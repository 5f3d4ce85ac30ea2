import t from 'tap'
import { bearer, connectPatient, startStack } from '../helpers/connect.js'
import { UNKNOWN_LINK_ORIGIN } from '../../simulator/options.js'

type Entry = {
  fullUrl?: string,
  resource: {
    resourceType: string,
    id?: string,
    issue?: Array<{ severity: string, code: string, details: { coding: Array<{ code: string }>, text: string } }>
  },
  search?: { mode: string }
}
type SearchBundle = { total: number, entry?: Entry[], link?: Array<{ relation: string, url: string }> }

t.test('a Bundle whose links lead to an unknown host says so: an outcome entry, a log warning and a counter', async (t) => {
  const stack = await startStack(t, { env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase, LOG_LEVEL: 'warn' }) })
  const connection = await connectPatient(stack)
  const { patientId } = stack.sim.practices[0]
  const search = `${stack.gw.url}/fhir/${connection.connectionId}/Observation?patient=${patientId}`
  const before = { ...stack.gw.app.fhirProxy.withheldLinks }

  stack.sim.setQuirks({ unknownHostLinks: true })
  const res = await fetch(search, { headers: bearer(connection.key) })
  t.equal(res.status, 200)
  const text = await res.text()
  const bundle = JSON.parse(text) as SearchBundle
  t.equal(bundle.total, 30, 'Healow says there are 30')
  const matches = (bundle.entry ?? []).filter((e) => e.search?.mode === 'match')
  t.equal(matches.length, 10, 'one page of them')
  t.notOk(bundle.link?.some((l) => l.relation === 'next'), 'the next link could not be mapped, so it is not there')
  const outcomes = (bundle.entry ?? []).filter((e) => e.search?.mode === 'outcome')
  t.equal(outcomes.length, 1, 'one outcome entry')
  const issue = outcomes[0].resource.issue![0]
  t.equal(outcomes[0].resource.resourceType, 'OperationOutcome')
  t.equal(issue.severity, 'warning')
  t.equal(issue.code, 'incomplete')
  t.equal(issue.details.coding[0].code, 'link_withheld')
  const host = new URL(UNKNOWN_LINK_ORIGIN).host
  t.match(issue.details.text, `"next" (on ${host})`, 'names the withheld relation and its host')
  t.notMatch(issue.details.text, /_getpages|patient=/, 'but not the link itself')
  t.notOk(text.includes(UNKNOWN_LINK_ORIGIN), 'no unknown-host URL reaches the client')
  t.equal(stack.gw.app.fhirProxy.withheldLinks.bundles, before.bundles + 1, 'counted once per Bundle')
  t.ok(stack.gw.app.fhirProxy.withheldLinks.links > before.links + 1, 'and per link (self, next and every fullUrl)')
  const warning = stack.gw.logs.lines.find((line) => line.includes('Bundle links withheld'))
  t.ok(warning, 'a warning in the log')
  t.match(warning, host)

  // The same search with links the gateway can map: no outcome, nothing counted.
  stack.sim.setQuirks({ unknownHostLinks: false })
  const mapped = await (await fetch(search, { headers: bearer(connection.key) })).json() as SearchBundle
  t.ok(mapped.link?.some((l) => l.relation === 'next'), 'next is there')
  t.notOk(mapped.entry?.some((e) => e.search?.mode === 'outcome'), 'no outcome entry')
  t.equal(stack.gw.app.fhirProxy.withheldLinks.bundles, before.bundles + 1, 'not counted')
})
