/**
 * HTML built from tagged templates that escape every interpolated value by default, so a value
 * from a request, the directory or Healow can only ever become text. `raw()` marks a fragment as
 * already safe: only for markup this code wrote itself (a nested `html` result is one already).
 */
export class Html {
  constructor (readonly value: string) {}
  toString (): string { return this.value }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[]

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' }

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!)
}

function render (value: HtmlValue): string {
  if (value instanceof Html) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  // false, null and undefined render nothing, so `${condition && html`…`}` reads naturally.
  if (value === null || value === undefined || value === false) return ''
  return escapeHtml(String(value))
}

export function html (strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!
  return new Html(out)
}

/** Trusted markup only: never pass anything that came from outside this code. */
export function raw (trusted: string): Html {
  return new Html(trusted)
}
