/** The API document's info: the name, version and licence clients see. */
export const OPENAPI_INFO = {
  title: 'healow-sync',
  version: '0.1.0',
  description: 'Self-hosted SMART on FHIR gateway between Mere Medical (and any client) and eClinicalWorks / Healow patient portals.',
  license: { name: 'MIT', identifier: 'MIT' }
}
