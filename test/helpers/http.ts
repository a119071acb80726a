// A tiny JSON client over fetch for API tests.
export interface Res<T = any> { status: number; headers: Headers; body: T; text: string }

export async function call<T = any>(url: string, method: string, auth?: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res<T>> {
  const h: Record<string, string> = { ...headers }
  if (auth) h.authorization = auth
  let payload: string | undefined
  if (body !== undefined) {
    h['content-type'] = 'application/json'
    payload = JSON.stringify(body)
  }
  const r = await fetch(url, { method, headers: h, body: payload })
  const text = await r.text()
  let parsed: any = text
  if ((r.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text)
  return { status: r.status, headers: r.headers, body: parsed as T, text }
}
