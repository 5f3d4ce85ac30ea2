// oidc-provider ships no type declarations: this describes the part the simulator uses.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  export interface Interaction {
    uid: string
    params: Record<string, unknown>
    prompt: { name: string }
  }

  export class Grant {
    constructor (init: { accountId: string; clientId: string })
    accountId: string
    addOIDCScope (scope: string): void
    addResourceScope (resource: string, scope: string): void
    getOIDCScope (): string
    save (): Promise<string>
  }

  export interface StoredGrantSource { resource?: string | string[] }

  export interface TokenEndpointContext {
    method: string
    path: string
    status: number
    body: unknown
    response: { headers: Record<string, unknown> }
    remove (field: string): void
    /** Defined once a provider route has matched. */
    oidc?: {
      route: string
      params?: Record<string, unknown>
      entities: { Grant?: Grant; AccessToken?: { scope?: string } }
    }
  }

  export type Middleware = (ctx: TokenEndpointContext, next: () => Promise<void>) => Promise<void>

  export class Provider {
    constructor (issuer: string, configuration: Record<string, unknown>)
    callback (): (req: IncomingMessage, res: ServerResponse) => void
    use (middleware: Middleware): this
    on (event: 'access_token.issued', listener: (token: { jti: string }) => void): this
    interactionDetails (req: IncomingMessage, res: ServerResponse): Promise<Interaction>
    interactionResult (req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean }): Promise<string>

    Grant: typeof Grant
    AuthorizationCode: { find (value: string): Promise<StoredGrantSource | undefined> }
    RefreshToken: { find (value: string): Promise<StoredGrantSource | undefined> }
  }

  export const errors: {
    InvalidRequest: new (description: string) => Error
    InvalidTarget: new (description: string) => Error
  }

  export default Provider
}
