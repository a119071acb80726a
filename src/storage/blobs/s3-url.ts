// WHARF_STORAGE_URL=s3://BUCKET[/PREFIX]?endpoint=…&region=…&forcePathStyle=true, parsed once for the
// config check and for the store. Credentials are not part of the URL: they come from the usual
// AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or the SDK's chain.

export interface S3Location {
  readonly bucket: string
  /** '' or a prefix ending in '/'. */
  readonly prefix: string
  /** Unset: AWS itself. */
  readonly endpoint?: string
  readonly region: string
  readonly forcePathStyle: boolean
}

const KNOWN_PARAMS = new Set(['endpoint', 'region', 'forcePathStyle'])

/** Throws an Error whose message says what is wrong (the config turns it into a ConfigError). */
export function parseS3Url(raw: string, defaultRegion?: string): S3Location {
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    throw new Error(`not a valid s3:// URL: '${raw}'`)
  }
  if (u.protocol !== 's3:') throw new Error(`expected s3://BUCKET[/PREFIX]?…, got '${raw}'`)
  if (u.username || u.password) throw new Error('put no credentials in the URL; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY')
  const bucket = u.hostname
  // S3's bucket naming rules (3-63 chars, lower-case letters, digits, dots, hyphens).
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`'${bucket}' is not a valid bucket name`)
  let prefix = decodeURIComponent(u.pathname).replace(/^\/+/, '')
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/'
  if (prefix.split('/').some((seg, i, all) => (seg === '' && i < all.length - 1) || seg === '.' || seg === '..')) {
    throw new Error(`'${prefix}' is not a valid key prefix`)
  }
  for (const k of u.searchParams.keys()) {
    if (!KNOWN_PARAMS.has(k)) throw new Error(`unknown parameter '${k}' (known: ${[...KNOWN_PARAMS].join(', ')})`)
  }
  const endpoint = u.searchParams.get('endpoint') ?? undefined
  if (endpoint !== undefined) {
    let e: URL
    try {
      e = new URL(endpoint)
    } catch {
      throw new Error(`endpoint '${endpoint}' is not a URL`)
    }
    if (e.protocol !== 'http:' && e.protocol !== 'https:') throw new Error(`endpoint '${endpoint}' must be http:// or https://`)
  }
  const fps = u.searchParams.get('forcePathStyle')
  let forcePathStyle = endpoint !== undefined
  if (fps !== null) {
    if (!['true', 'false'].includes(fps)) throw new Error(`forcePathStyle must be true or false, got '${fps}'`)
    forcePathStyle = fps === 'true'
  }
  const region = u.searchParams.get('region') ?? defaultRegion ?? 'us-east-1'
  if (!/^[a-z0-9-]{1,40}$/.test(region)) throw new Error(`'${region}' is not a region name`)
  return { bucket, prefix, endpoint, region, forcePathStyle }
}

/** The URL without secrets, for messages. */
export function describeS3(loc: S3Location): string {
  return `s3://${loc.bucket}/${loc.prefix}${loc.endpoint ? ` at ${loc.endpoint}` : ''}`
}
