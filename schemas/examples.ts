/**
 * The values the OpenAPI examples share, so that one operation's example answer is the next one's
 * example request (a connection claimed here is the one read there). None is a real credential.
 */
export const EXAMPLE = {
  publicUrl: 'https://healow-sync.example.org',
  connectionId: '6f1c2a9e-3b7d-4e21-9c55-0a8d4f2b7e13',
  practiceId: 'JAFJCD',
  practiceName: 'FHIR R4 Prodtest EMR',
  fhirBase: 'https://fhir4.healow.com/fhir/r4/JAFJCD',
  authorizeUrl: 'https://oauthserver.eclinicalworks.com/oauth/oauth2/authorize',
  tokenUrl: 'https://oauthserver.eclinicalworks.com/oauth/oauth2/token',
  patientId: '12724066',
  handoff: 'hsh_EXAMPLE-one-time-handoff-code-not-real-000000',
  key: 'hsk_EXAMPLE-connection-key-not-a-real-key-0000000',
  returnTo: 'https://app.example.org/connected',
  accessToken: 'eyJhbGciOiJSUzM4NCJ9.EXAMPLE-access-token.signature',
  refreshToken: 'EXAMPLE-refresh-token-7f3c9a',
  idToken: 'eyJhbGciOiJSUzM4NCJ9.EXAMPLE-id-token.signature',
  scope: 'openid fhirUser offline_access patient/Observation.read patient/Patient.read'
} as const

export const EXAMPLE_CONNECTION = {
  id: EXAMPLE.connectionId,
  practiceId: EXAMPLE.practiceId,
  fhirBase: EXAMPLE.fhirBase,
  fhirUrl: `${EXAMPLE.publicUrl}/fhir/${EXAMPLE.connectionId}`,
  patientId: EXAMPLE.patientId,
  scopes: EXAMPLE.scope.split(' '),
  status: 'active',
  accessTokenExpiresAt: '2026-12-02T15:04:05.000Z',
  refreshable: true,
  lastRefreshAt: '2026-12-02T14:04:05.000Z',
  lastError: null,
  createdAt: '2026-11-20T09:30:00.000Z',
  reconnectUrl: `${EXAMPLE.publicUrl}/healow/connect?tenant=${EXAMPLE.practiceId}`
}

export const EXAMPLE_TENANT = {
  id: EXAMPLE.practiceId,
  name: EXAMPLE.practiceName,
  fhirBase: EXAMPLE.fhirBase,
  authorizeUrl: EXAMPLE.authorizeUrl,
  tokenUrl: EXAMPLE.tokenUrl
}

/** Healow's token answer as the Mere endpoints pass it back. */
export const EXAMPLE_TOKEN_RESPONSE = {
  access_token: EXAMPLE.accessToken,
  token_type: 'Bearer',
  expires_in: 3600,
  scope: EXAMPLE.scope,
  refresh_token: EXAMPLE.refreshToken,
  id_token: EXAMPLE.idToken,
  patient: EXAMPLE.patientId
}

/** One page of a search through the gateway: its links point back through it. */
export const EXAMPLE_BUNDLE = {
  resourceType: 'Bundle',
  type: 'searchset',
  total: 35,
  link: [
    { relation: 'self', url: `${EXAMPLE.publicUrl}/fhir/${EXAMPLE.connectionId}/Observation?patient=${EXAMPLE.patientId}` },
    { relation: 'next', url: `${EXAMPLE.publicUrl}/fhir/${EXAMPLE.connectionId}?_getpages=b1a7e2&_getpagesoffset=10&_count=10` }
  ],
  entry: [{
    fullUrl: `${EXAMPLE.publicUrl}/fhir/${EXAMPLE.connectionId}/Observation/obs-1`,
    resource: { resourceType: 'Observation', id: 'obs-1', status: 'final', code: { text: 'Heart rate' }, subject: { reference: `Patient/${EXAMPLE.patientId}` } }
  }]
}

/** The search parameters of an example Observation search. */
export const EXAMPLE_SEARCH = { patient: EXAMPLE.patientId }
