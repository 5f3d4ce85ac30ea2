// oidc-provider 9 prints two warnings that are expected here and only confuse a
// reader of test output: "Unsupported runtime" on Node 20 (it works anyway on
// Node 20) and the notice that its in-memory store is used (a simulator
// wants exactly that). Every other warning gets through.
const EXPECTED_WARNINGS = ['Unsupported runtime', 'in-memory adapter']

export async function withoutExpectedWarnings<T> (action: () => T | Promise<T>): Promise<T> {
  const warn = console.warn
  console.warn = (...args: unknown[]) => {
    if (!EXPECTED_WARNINGS.some((expected) => String(args[0]).includes(expected))) warn(...args)
  }
  try {
    return await action()
  } finally {
    console.warn = warn
  }
}

const oidcProvider = await withoutExpectedWarnings(() => import('oidc-provider'))

export const Provider = oidcProvider.default
// eslint-disable-next-line @typescript-eslint/no-redeclare -- a class's value and instance type, as `class` names them
export type Provider = InstanceType<typeof oidcProvider.default>
export const oidcErrors = oidcProvider.errors
