// Runs a background job every `ms`, never two runs of it at once; stop() waits for a run in progress.
export interface JobLogger {
  error(obj: object, msg: string): void
  info?(obj: object, msg: string): void
}

export interface ScheduledJob {
  /** Runs the job now (unless a run is in progress, then waits for that one). */
  runNow(): Promise<void>
  stop(): Promise<void>
}

export function every(ms: number, name: string, run: (signal: AbortSignal) => Promise<void>, log: JobLogger): ScheduledJob {
  const abort = new AbortController()
  let current: Promise<void> | undefined
  let stopped = false
  const start = (): Promise<void> => {
    if (current) return current
    current = run(abort.signal)
      .catch((err: unknown) => log.error({ err, job: name }, 'job failed'))
      .finally(() => {
        current = undefined
      })
    return current
  }
  const timer = setInterval(() => {
    if (!stopped) void start()
  }, ms)
  timer.unref()
  return {
    runNow: () => (stopped ? Promise.resolve() : start()),
    async stop() {
      stopped = true
      clearInterval(timer)
      abort.abort()
      await current
    },
  }
}
