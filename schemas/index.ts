import { commonSchemas } from './common.js'
import { instanceSchemas } from './instance.js'
import { connectionSchemas } from './connections.js'
import { tenantSchemas } from './tenants.js'
import { fhirSchemas } from './fhir.js'
import { mereSchemas } from './mere.js'
import { adminSchemas } from './admin.js'
import { syncSchemas } from './sync.js'

/** Every shared schema, registered once with app.addSchema so the OpenAPI document names them by $id. */
export const sharedSchemas = [
  ...commonSchemas,
  ...instanceSchemas,
  ...connectionSchemas,
  ...tenantSchemas,
  ...fhirSchemas,
  ...mereSchemas,
  ...adminSchemas,
  ...syncSchemas
]
