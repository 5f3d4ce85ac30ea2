export interface ReadinessResult { ok: boolean, detail?: string }
export type ReadinessCheck = () => ReadinessResult | Promise<ReadinessResult>

/** Each part that the service needs registers a check; GET /ready reports them all. */
export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>()

  register (name: string, check: ReadinessCheck): void {
    if (this.#checks.has(name)) throw new Error(`readiness check "${name}" registered twice`)
    this.#checks.set(name, check)
  }

  async report (): Promise<{ ready: boolean, checks: Record<string, ReadinessResult> }> {
    const entries = await Promise.all([...this.#checks].map(async ([name, check]) => {
      try {
        return [name, await check()] as const
      } catch (err) {
        return [name, { ok: false, detail: (err as Error).message }] as const
      }
    }))
    return { ready: entries.every(([, r]) => r.ok), checks: Object.fromEntries(entries) }
  }
}
