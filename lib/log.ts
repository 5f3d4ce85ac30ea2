/** What domain code logs through: pino's signature (Fastify's logger has it), without depending on either. */
export interface PartLog {
  info (details: object, message: string): void
  warn (details: object, message: string): void
}
