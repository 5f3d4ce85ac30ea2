/**
 * How the FHIR proxy and the Mere relay take a form body (a POST _search, a token request): as
 * text, small, so it can be checked, re-encoded and resent after a 401. One definition, so both
 * refuse the same sizes.
 */
export const FORM_BODY = {
  contentType: 'application/x-www-form-urlencoded',
  options: { parseAs: 'string', bodyLimit: 64 * 1024 }
} as const

/** A content-type parser that keeps the body as the text it arrived as. */
export function keepFormText (_request: unknown, body: string | Buffer, done: (err: null, body: string) => void): void {
  done(null, body.toString())
}
