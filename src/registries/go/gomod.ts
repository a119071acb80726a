// Just enough of a go.mod reader (golang.org/x/mod/modfile's lexer, https://go.dev/ref/mod#go-mod-file-lexical)
// to find the `module`, `go` and `retract` directives and the module's `// Deprecated:` comment.
// Everything else in the file is skipped, as a lax parse does.
//
//   module example.com/m            module "example.com/m"            module (
//                                                                          example.com/m // comment
//                                                                      )

export class GoModSyntaxError extends Error {
  override readonly name = 'GoModSyntaxError'
  constructor(readonly line: number, reason: string) {
    super(`go.mod:${line}: ${reason}`)
  }
}

export interface GoModInfo {
  /** The path of the module directive; undefined when there is none. */
  module?: string
  /** The version of the go directive ("1.21"); undefined when there is none. */
  go?: string
  /** The `retract` directives: single versions have low === high. */
  retract?: Retraction[]
  /** The text after "Deprecated: " in the comments of the module directive, as the go command reads it. */
  deprecated?: string
}

export interface Retraction { low: string; high: string; rationale: string }

type Token = { kind: 'word' | 'string' | 'punct'; text: string; line: number }
/** A line's tokens, with the comment at its end and the whole-line comments just before it. */
type Line = Token[] & { before?: string[]; suffix?: string }

/** Reads the module and go directives; throws GoModSyntaxError for what Go would refuse there. */
export function parseGoMod(text: string): GoModInfo {
  const info: GoModInfo = {}
  const lines = lex(text)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const verb = line[0]!
    if (verb.kind !== 'word') continue
    const isBlock = line.length === 2 && line[1]!.text === '(' && line[1]!.kind === 'punct'
    const statements: Line[] = []
    if (isBlock) {
      // `verb (` … `)`: every line inside is a statement of that verb.
      for (i++; i < lines.length && !isCloseParen(lines[i]!); i++) statements.push(lines[i]!)
    } else {
      statements.push(line.slice(1))
    }
    for (const args of statements) {
      // The comments of the statement: for a block entry, the block's and the entry's own.
      const own: Line = isBlock ? args : line
      const comments = [...(isBlock ? line.before ?? [] : []), ...(own.before ?? []), ...(own.suffix !== undefined ? [own.suffix] : [])]
      if (verb.text === 'retract') {
        const r = parseRetract(args, verb.line)
        if (r) (info.retract ??= []).push({ ...r, rationale: comments.join('\n').trim() })
        continue
      }
      if (verb.text === 'module') {
        const dep = deprecation(comments)
        if (dep !== undefined) info.deprecated = dep
        const line = args[0]?.line ?? verb.line
        if (info.module !== undefined) throw new GoModSyntaxError(line, 'repeated module statement')
        if (args.length !== 1 || args[0]!.kind === 'punct') throw new GoModSyntaxError(line, 'usage: module module/path')
        info.module = args[0]!.text
      } else if (verb.text === 'go' && info.go === undefined && args[0]?.kind === 'word') {
        info.go = args[0].text
      }
    }
  }
  return info
}

/** `retract v1.0.0` or `retract [v1.0.0, v1.2.0]`; anything else is skipped. */
function parseRetract(args: Token[], verbLine: number): { low: string; high: string } | undefined {
  const t = (i: number) => args[i]
  if (args.length === 1 && t(0)!.kind !== 'punct') return { low: t(0)!.text, high: t(0)!.text }
  if (args.length === 5 && t(0)!.text === '[' && t(2)!.text === ',' && t(4)!.text === ']' && t(1)!.kind !== 'punct' && t(3)!.kind !== 'punct') {
    return { low: t(1)!.text, high: t(3)!.text }
  }
  if (args.length > 0) throw new GoModSyntaxError(args[0]?.line ?? verbLine, 'usage: retract version | retract [low, high]')
  return undefined
}

/** modfile's parseDeprecation: the paragraph of the comments that starts with "Deprecated: ". */
function deprecation(comments: string[]): string | undefined {
  const text = comments.join('\n')
  const m = /(?:^|\n)Deprecated: ?((?:.|\n)*?)(?:\n\s*\n|$)/.exec(text)
  return m ? m[1]!.trim() : undefined
}

const isCloseParen = (line: Token[]) => line.length === 1 && line[0]!.kind === 'punct' && line[0]!.text === ')'

const PUNCT = '()[]{},'

/** Splits the file into non-empty lines of tokens; comments are dropped, strings unquoted. */
function lex(text: string): Line[] {
  const lines: Line[] = []
  let current: Line = []
  let before: string[] = []
  let commented = false
  let line = 1
  let i = 0
  const endLine = () => {
    if (current.length > 0) {
      if (before.length > 0) current.before = before
      lines.push(current)
      before = []
    }
    current = []
  }
  while (i < text.length) {
    const c = text[i]!
    if (c === '\n') {
      // A blank line detaches the comments above it, as modfile does.
      if (current.length === 0 && !commented) before = []
      commented = false
      endLine()
      line++
      i++
    } else if (c === ' ' || c === '\t' || c === '\r' || /\s/.test(c)) {
      i++
    } else if (text.startsWith('//', i)) {
      const start = i
      while (i < text.length && text[i] !== '\n') i++
      const comment = text.slice(start + 2, i).trim()
      if (current.length > 0) current.suffix = comment
      else before.push(comment)
      commented = true
    } else if (PUNCT.includes(c)) {
      current.push({ kind: 'punct', text: c, line })
      i++
    } else if (c === '"' || c === '`') {
      const end = c === '`' ? text.indexOf('`', i + 1) : findQuoteEnd(text, i + 1)
      if (end < 0) throw new GoModSyntaxError(line, 'unterminated quoted string')
      const raw = text.slice(i + 1, end)
      current.push({ kind: 'string', text: c === '`' ? raw : unquote(raw, line), line })
      line += raw.split('\n').length - 1
      i = end + 1
    } else {
      const start = i
      while (i < text.length && !/\s/.test(text[i]!) && !PUNCT.includes(text[i]!) && !text.startsWith('//', i)) i++
      current.push({ kind: 'word', text: text.slice(start, i), line })
    }
  }
  endLine()
  return lines
}

/** Index of the closing double quote of a string starting at i, or -1. */
function findQuoteEnd(text: string, i: number): number {
  for (; i < text.length; i++) {
    const c = text[i]
    if (c === '\n') return -1
    if (c === '\\') i++
    else if (c === '"') return i
  }
  return -1
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'",
}

/** The body of a Go interpreted string literal ("…" without the quotes), escapes decoded. */
function unquote(body: string, line: number): string {
  return body.replace(/\\(?:([abfnrtv\\"'])|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{3})|(.?))/g,
    (_all, simple?: string, x?: string, u?: string, bigU?: string, octal?: string) => {
      if (simple !== undefined) return SIMPLE_ESCAPES[simple]!
      const hex = x ?? u ?? bigU
      const code = hex !== undefined ? Number.parseInt(hex, 16) : octal !== undefined ? Number.parseInt(octal, 8) : -1
      if (code >= 0 && code <= 0x10ffff) return String.fromCodePoint(code)
      throw new GoModSyntaxError(line, `invalid escape sequence in quoted string: ${JSON.stringify(_all)}`)
    })
}
