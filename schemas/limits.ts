// Bounds of the API that the domain enforces too, in a module of their own so that code which only
// needs a bound (the directory's import process) does not load the schema library with it.

/** The longest search text the directory takes (longer ones are refused, never cut). */
export const MAX_QUERY_LENGTH = 256
