/**
 * A Standard Webhooks signing secret: `whsec_` followed by the base64 of 24 to 64 random bytes.
 * The HMAC key is the decoded bytes, not the text, so both sides must decode it the same way.
 */
export const WEBHOOK_SECRET_PREFIX = 'whsec_'
const MIN_SECRET_BYTES = 24
const MAX_SECRET_BYTES = 64

/** What is wrong with a secret, in words for the operator; undefined when it is good. */
export function webhookSecretProblem (secret: string): string | undefined {
  const help = `write it as ${WEBHOOK_SECRET_PREFIX} + base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} random bytes (e.g. "${WEBHOOK_SECRET_PREFIX}$(openssl rand -base64 32)")`
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return `WEBHOOK_SECRET must start with ${WEBHOOK_SECRET_PREFIX}; ${help}`
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length)
  // Buffer.from(…, 'base64') skips what is not base64; a typo would silently shorten the key.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return `WEBHOOK_SECRET is not valid base64 after ${WEBHOOK_SECRET_PREFIX}; ${help}`
  const bytes = Buffer.from(encoded, 'base64').length
  if (bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) return `WEBHOOK_SECRET decodes to ${bytes} bytes; ${help}`
}

/** The HMAC key of a secret that passed webhookSecretProblem. */
export function webhookSigningKey (secret: string): Buffer {
  const problem = webhookSecretProblem(secret)
  if (problem) throw new Error(problem)
  return Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64')
}
