import type { ContractDocument, DocumentedOperation, ResponseCheck } from './document.js'

/** One response a contract test received, as checked against the document. */
export interface CoveredResponse {
  method: string
  path: string
  status: number
  check: ResponseCheck
}

/** The operations (method, path template, status) the contract tests have exercised so far. */
export class ContractCoverage {
  readonly responses: CoveredResponse[] = []

  record (response: CoveredResponse): void {
    this.responses.push(response)
  }

  /** Documented operations no contract test has called. */
  uncovered (document: ContractDocument): DocumentedOperation[] {
    return document.operations()
      .filter((op) => !this.responses.some((r) => r.method === op.method && r.path === op.path))
  }

  /** `operationId → statuses seen`, for the report. */
  summary (): Record<string, number[]> {
    const seen: Record<string, Set<number>> = {}
    for (const r of this.responses) (seen[r.check.operationId ?? `${r.method} ${r.path}`] ??= new Set()).add(r.status)
    return Object.fromEntries(Object.entries(seen).map(([id, statuses]) => [id, [...statuses].sort()]))
  }

  /** Whether `operationId` answered `status` with a body of the named component. */
  saw (operationId: string, status: number, schemaName?: string): boolean {
    return this.responses.some((r) => r.check.operationId === operationId && r.status === status &&
      (schemaName === undefined || r.check.schemaName === schemaName))
  }
}
