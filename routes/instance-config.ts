import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ref } from '../schemas/common.js'
import { InstanceConfig } from '../schemas/instance.js'

const instanceConfig: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/api/v1/instance-config', {
    schema: {
      summary: 'Public configuration Mere web reads at start-up',
      operationId: 'getInstanceConfig',
      tags: ['Mere compatibility'],
      security: [],
      response: { 200: ref(InstanceConfig) }
    }
  }, async () => ({
    HEALOW_CLIENT_ID: app.config.HEALOW_CLIENT_ID,
    HEALOW_CONFIDENTIAL_MODE: app.config.mode === 'confidential',
    PUBLIC_URL: app.config.PUBLIC_URL
  }))
}
export default instanceConfig
