// Discovery per practice, as Healow publishes it: a CapabilityStatement with the
// SMART oauth-uris extension at {base}/metadata and {base}/.well-known/smart-configuration.
import { OAUTH_PATHS } from './authorization-server.js'
import { SCOPED_RESOURCE_TYPES, SMART_SCOPES, type FhirResource } from './fhir-types.js'
import type { Practice } from './practices.js'

export function capabilityStatement (practice: Practice, oauthOrigin: string, everything = false): FhirResource {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2024-01-01',
    publisher: 'eClinicalWorks (simulated)',
    kind: 'instance',
    software: { name: 'eCW FHIR Facade' },
    implementation: { description: practice.name, url: practice.fhirBase },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{
      mode: 'server',
      security: {
        // Claimed, as Healow does, although no CORS header is ever sent.
        cors: true,
        service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
        extension: [{
          url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
          extension: [
            { url: 'authorize', valueUri: `${oauthOrigin}${OAUTH_PATHS.authorize}` },
            { url: 'token', valueUri: `${oauthOrigin}${OAUTH_PATHS.token}` }
          ]
        }]
      },
      resource: SCOPED_RESOURCE_TYPES.map((type) => ({
        type,
        interaction: [{ code: 'read' }, { code: 'search-type' }],
        searchParam: [{ name: type === 'Patient' ? '_id' : 'patient', type: 'reference' }],
        ...(type === 'Patient' && everything ? { operation: [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }] } : {})
      }))
    }]
  }
}

export function smartConfiguration (practice: Practice, oauthOrigin: string): Record<string, unknown> {
  return {
    issuer: practice.fhirBase,
    authorization_endpoint: `${oauthOrigin}${OAUTH_PATHS.authorize}`,
    token_endpoint: `${oauthOrigin}${OAUTH_PATHS.token}`,
    jwks_uri: `${oauthOrigin}${OAUTH_PATHS.jwks}`,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'client_secret_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'fhirUser', 'offline_access', ...SMART_SCOPES],
    capabilities: [
      'launch-standalone', 'client-public', 'client-confidential-symmetric', 'context-standalone-patient',
      'permission-offline', 'permission-patient', 'sso-openid-connect'
    ]
  }
}
