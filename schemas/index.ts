import { commonSchemas } from './common.js'
import { instanceSchemas } from './instance.js'

/** Every shared schema, registered once with app.addSchema so the OpenAPI document names them by $id. */
export const sharedSchemas = [...commonSchemas, ...instanceSchemas]
