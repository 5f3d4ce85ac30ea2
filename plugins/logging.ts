import type { FastifyServerOptions } from 'fastify'
import { randomUUID } from 'node:crypto'
import type { Config } from './config.js'

// Fields that hold credentials anywhere in a log object (tokens, codes, keys, secrets).
const SECRET_FIELDS = [
  'authorization', 'cookie', 'set-cookie', 'access_token', 'refresh_token', 'id_token',
  'code_verifier', 'client_secret', 'key', 'handoff', 'password', 'state', 'VAULT_KEY', 'HEALOW_CLIENT_SECRET'
]
const REDACT_PATHS = [
  ...['authorization', 'cookie', 'x-api-key'].map((h) => `req.headers["${h}"]`),
  'res.headers["set-cookie"]',
  // An OAuth code only where requests carry one: a bare `code` is usually an error code (ENOENT), worth keeping.
  ...['query.code', 'body.code', '*.query.code', '*.body.code'],
  ...SECRET_FIELDS.flatMap((f) => /^[A-Za-z_]\w*$/.test(f)
    ? [f, `*.${f}`, `*.*.${f}`]
    : [`*[${JSON.stringify(f)}]`, `*.*[${JSON.stringify(f)}]`])
]

// Query parameters that carry credentials: OAuth codes and state at the callback, handles, tokens.
const SECRET_QUERY = /([?&](?:code|state|handoff|access_token|refresh_token|id_token|token|key|code_verifier|client_secret)=)[^&#\s"]*/gi
// A last line of defence on the serialized line: bearer values and JSON token fields, whatever object they came in.
const SECRET_IN_TEXT: Array<[RegExp, string]> = [
  [/(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/gi, '$1[Redacted]'],
  [/(Basic\s+)[A-Za-z0-9+/]+=*/gi, '$1[Redacted]'],
  [/("(?:access_token|refresh_token|id_token|client_secret|code_verifier|key|handoff)\\?"\s*:\s*\\?")[^"\\]+/g, '$1[Redacted]'],
  [SECRET_QUERY, '$1[Redacted]'],
  // Our own keys and handoffs (prefixed so they can be found), and any JWT (Healow's tokens are JWTs).
  [/\bhs[kh]_[A-Za-z0-9_-]{20,}/g, '[Redacted]'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '[Redacted]']
]

export function redactUrl (url: string): string {
  return url.replace(SECRET_QUERY, '$1[Redacted]')
}

/** Scrubs known secret values and credential-shaped text from one serialized log line. */
export function scrubLogLine (line: string, secrets: readonly string[]): string {
  let out = line
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join('[Redacted]')
  for (const [pattern, replacement] of SECRET_IN_TEXT) out = out.replace(pattern, replacement)
  return out
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/

export interface LoggerOptionsInput {
  config: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT' | 'HEALOW_CLIENT_SECRET' | 'VAULT_KEY'>
  /** Tests pass a stream to capture every line. */
  stream?: NodeJS.WritableStream
}

/** Fastify server options for logging and request ids; one place decides what may reach a log line. */
export function loggingOptions ({ config, stream }: LoggerOptionsInput): Pick<FastifyServerOptions, 'logger' | 'genReqId' | 'requestIdHeader'> {
  const secrets = [config.HEALOW_CLIENT_SECRET, config.VAULT_KEY].filter((s): s is string => Boolean(s))
  const pretty = config.LOG_FORMAT === 'pretty' || (config.LOG_FORMAT === 'auto' && !stream && process.stdout.isTTY === true)
  return {
    logger: {
      level: config.LOG_LEVEL,
      redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
      hooks: { streamWrite: (line: string) => scrubLogLine(line, secrets) },
      serializers: {
        req: (req: { method: string, url: string, ip: string, id: string }) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode })
      },
      ...(stream ? { stream } : pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {})
    } as never,
    // false: Fastify would otherwise take the header unchecked; genReqId validates it instead.
    requestIdHeader: false,
    // Accept a caller's request id only when it is harmless to echo into logs.
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    }
  }
}
