import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'
import { randomUUID } from 'node:crypto'
import type { Config } from './lib/config.js'

// Fields that hold credentials anywhere in a log object (credential headers, tokens, codes, keys, secrets).
const SECRET_FIELDS = [
  'authorization', 'cookie', 'set-cookie', 'x-api-key', 'access_token', 'refresh_token', 'id_token',
  'code_verifier', 'client_secret', 'key', 'handoff', 'password', 'state', 'VAULT_KEY', 'HEALOW_CLIENT_SECRET'
]
const REDACT_PATHS = [
  // An OAuth code only where requests carry one: a bare `code` is usually an error code (ENOENT), worth keeping.
  ...['query.code', 'body.code', '*.query.code', '*.body.code'],
  // At the top and up to two objects down, which takes in req.headers.authorization and res.headers.set-cookie.
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`])
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

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
type ChildOptions = { level?: string, serializers?: Record<string, unknown> }
/** pino's loggers answer isLevelEnabled; another logger gets its child made on every line. */
type LevelAwareLogger = FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean }

/**
 * A request's logger, made on its first enabled line. Fastify makes one per request, and pino
 * runs every redaction path over the bindings while making it (~7 µs and 15 KB of garbage on
 * each proxied read); most requests never write a line below the configured level.
 */
class LazyChildLogger {
  #child: FastifyBaseLogger | undefined
  constructor (private readonly parent: LevelAwareLogger, private readonly bindings: Record<string, unknown>) {}

  private made (): FastifyBaseLogger {
    return (this.#child ??= this.parent.child(this.bindings))
  }

  private write (level: Level, args: unknown[]): void {
    if (this.#child === undefined && !(this.parent.isLevelEnabled?.(level) ?? true)) return
    ;(this.made()[level] as (...a: unknown[]) => void)(...args)
  }

  get level (): string { return this.#child?.level ?? this.parent.level }
  set level (value: string) { this.made().level = value }
  fatal (...args: unknown[]): void { this.write('fatal', args) }
  error (...args: unknown[]): void { this.write('error', args) }
  warn (...args: unknown[]): void { this.write('warn', args) }
  info (...args: unknown[]): void { this.write('info', args) }
  debug (...args: unknown[]): void { this.write('debug', args) }
  trace (...args: unknown[]): void { this.write('trace', args) }
  silent (): void {}
  child (bindings: Record<string, unknown>, options?: ChildOptions): FastifyBaseLogger {
    return this.made().child(bindings, options as never)
  }
}

export function lazyChildLogger (
  parent: LevelAwareLogger,
  bindings: Record<string, unknown>,
  options: ChildOptions = {}
): FastifyBaseLogger {
  // A route with its own log level or serializers gets its child at once: it may log more than the parent.
  if (options.level !== undefined || options.serializers !== undefined) return parent.child(bindings, options as never)
  return new LazyChildLogger(parent, bindings) as unknown as FastifyBaseLogger
}

/** Fastify server options for logging and request ids; one place decides what may reach a log line. */
export function loggingOptions ({ config, stream }: LoggerOptionsInput): Pick<FastifyServerOptions, 'logger' | 'genReqId' | 'requestIdHeader' | 'childLoggerFactory'> {
  const secrets = [config.HEALOW_CLIENT_SECRET, config.VAULT_KEY].filter((s): s is string => Boolean(s))
  const pretty = config.LOG_FORMAT === 'pretty' || (config.LOG_FORMAT === 'auto' && !stream && process.stdout.isTTY === true)
  return {
    logger: {
      level: config.LOG_LEVEL,
      redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
      hooks: { streamWrite: (line: string) => scrubLogLine(line, secrets) },
      serializers: {
        req: (req: { method: string, url: string, ip: string, id: string }) => ({
          method: req.method,
          url: redactUrl(req.url),
          remoteAddress: req.ip
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode })
      },
      ...(stream ? { stream } : pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {})
    } as never,
    childLoggerFactory: (logger, bindings, options) => lazyChildLogger(logger, bindings, options as ChildOptions),
    // false: Fastify would otherwise take the header unchecked; genReqId validates it instead.
    requestIdHeader: false,
    // Accept a caller's request id only when it is harmless to echo into logs.
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    }
  }
}
