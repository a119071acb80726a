// A browser-ish client over fetch for page tests: keeps cookies, reads the form's CSRF token, posts forms.
export class WebClient {
  readonly cookies = new Map<string, string>()
  constructor(readonly base: string) {}

  private store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      if (value === '' || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<{ res: Response; body: string }> {
    const res = await fetch(this.base + path, { redirect: 'manual', headers: { cookie: this.cookieHeader, ...headers } })
    this.store(res)
    return { res, body: await res.text() }
  }

  async post(path: string, form: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<{ res: Response; body: string }> {
    const body = new URLSearchParams()
    for (const [k, v] of Object.entries(form)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x)
    const res = await fetch(this.base + path, {
      method: 'POST', redirect: 'manual', body,
      headers: { cookie: this.cookieHeader, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    })
    this.store(res)
    return { res, body: await res.text() }
  }

  /** Loads a page and returns the CSRF token of its first form. */
  async csrf(path: string): Promise<string> {
    const { body } = await this.get(path)
    const m = /name="_csrf" value="([^"]+)"/.exec(body)
    if (!m) throw new Error(`no CSRF token on ${path}`)
    return m[1]!
  }

  async signIn(username: string, password: string): Promise<Response> {
    const _csrf = await this.csrf('/-/login')
    return (await this.post('/-/login', { _csrf, username, password, next: '/' })).res
  }
}
