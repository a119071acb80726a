// An escaping tagged template: every interpolated value is HTML-escaped unless it is already Html
// (the result of another html`` or of raw()). Pages are built only with this, so user data can't
// turn into markup by accident.

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' }

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!)
}

/** A value a template may contain: arrays are joined, null/undefined/false render nothing. */
export type Interpolation = Html | string | number | bigint | boolean | null | undefined | readonly Interpolation[]

function render(v: Interpolation): string {
  if (v === null || v === undefined || v === false) return ''
  if (v instanceof Html) return v.value
  if (Array.isArray(v)) return v.map(render).join('')
  return escapeHtml(String(v))
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!
  return new Html(out)
}

/** Marks markup as safe. Only for strings that are already safe (our own constants, library SVG). */
export const raw = (s: string): Html => new Html(s)

export const join = (items: readonly Interpolation[], sep: Interpolation = ''): Html =>
  new Html(items.map(render).join(render(sep)))
