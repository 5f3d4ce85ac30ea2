import type { Test } from 'tap'
import { startStack, type Mode, type Stack } from '../helpers/connect.js'
import { contractClient, type HealowSyncClient } from './client.js'
import { connectThroughClient } from './connect.js'
import { ContractCoverage } from './coverage.js'
import { ContractDocument } from './document.js'

/** The document and what the contract tests have exercised of it: one per test run. */
export interface Contract {
  document: ContractDocument
  coverage: ContractCoverage
}

export function openContract (): Contract {
  return { document: new ContractDocument(), coverage: new ContractCoverage() }
}

export interface ConnectedPatient { connectionId: string, key: string, patientId: string }

/** One gateway and simulator for a mode, shared by every contract test of that mode. */
export interface ContractStack {
  stack: Stack
  /** The generated client, checking each response as an assertion of `t`. */
  client: (t: Test) => HealowSyncClient
  /** The patient of the first practice, connected through the generated client. */
  patient: ConnectedPatient
  /** Connects the patient of another practice (by index in the simulator's list) through the generated client. */
  connect: (t: Test, practiceIndex: number) => Promise<ConnectedPatient>
}

/** The operator token of the contract gateways. */
export const CONTRACT_ADMIN_TOKEN = 'contract-test-admin-token-0123456789abcdef'

export async function startContractStack (t: Test, contract: Contract, mode: Mode): Promise<ContractStack> {
  const stack = await startStack(t, { mode, env: (sim) => ({ FHIR_ALIAS_HOSTS: sim.aliasBase, LOG_LEVEL: 'warn', ADMIN_TOKEN: CONTRACT_ADMIN_TOKEN }) })
  const client = (t: Test) => contractClient(t, stack.gw.url, contract)
  const connect = (t: Test, practiceIndex: number) => connectThroughClient(
    client(t),
    stack.sim.practices[practiceIndex].id
  )
  return { stack, client, patient: await connect(t, 0), connect }
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
