import { Type } from '@sinclair/typebox'
import { EXAMPLE, EXAMPLE_TOKEN_RESPONSE } from './examples.js'

const tenantId = Type.String({ minLength: 1, maxLength: 64, description: "The practice id (Mere's tenant_id)" })

export const MereTokenRequest = Type.Object({
  code: Type.String({ minLength: 1, maxLength: 4096 }),
  redirect_uri: Type.String({ minLength: 1, maxLength: 2048 }),
  code_verifier: Type.String({ minLength: 43, maxLength: 128, description: 'PKCE verifier (RFC 7636: 43-128 characters)' }),
  tenant_id: tenantId
}, {
  $id: 'MereTokenRequest',
  title: 'MereTokenRequest',
  additionalProperties: false,
  examples: [{ code: 'Jx8Qn2EXAMPLEcode', redirect_uri: 'https://app.example.org/healow/callback', code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', tenant_id: EXAMPLE.practiceId }]
})

export const MereRefreshRequest = Type.Object({
  refresh_token: Type.String({ minLength: 1, maxLength: 4096, description: "Healow's refresh token, or a gateway refresh handle (hsr.…) in vault-handle mode" }),
  tenant_id: tenantId
}, { $id: 'MereRefreshRequest', title: 'MereRefreshRequest', additionalProperties: false, examples: [{ refresh_token: EXAMPLE.refreshToken, tenant_id: EXAMPLE.practiceId }] })

export const MereTokenResponse = Type.Object({
  access_token: Type.Optional(Type.String({ description: "Healow's access token, or a gateway handle (hsa.…) in vault-handle mode" })),
  token_type: Type.Optional(Type.String()),
  expires_in: Type.Optional(Type.Number()),
  scope: Type.Optional(Type.String()),
  refresh_token: Type.Optional(Type.String()),
  id_token: Type.Optional(Type.String()),
  patient: Type.Optional(Type.String()),
  error: Type.Optional(Type.String({ description: 'OAuth error code, or server_configuration_error / invalid_tenant / upstream_unavailable' })),
  error_description: Type.Optional(Type.String())
}, {
  $id: 'MereTokenResponse',
  title: 'MereTokenResponse',
  description: "Healow's token endpoint answer, passed back as is with Healow's status (more fields may appear)",
  additionalProperties: true,
  examples: [EXAMPLE_TOKEN_RESPONSE]
})

export const mereSchemas = [MereTokenRequest, MereRefreshRequest, MereTokenResponse]
