// A lingering close, as nginx does it: when Node closes a connection after a response (Connection:
// close, e.g. a 413 sent while the client is still sending its body), closing at once makes the
// kernel answer the client's further bytes with a reset, and a reset throws away the answer the
// client has not read yet: it sees EPIPE/ECONNRESET instead of the 413. So the server sends its FIN
// after the answer and reads (and drops) what still comes, until the client closes its side or a
// bound is reached (LINGER_TOTAL_MS in all, LINGER_IDLE_MS without data, LINGER_MAX_BYTES), then
// closes. Connections whose request was read whole close as before.
import type { IncomingMessage, Server } from 'node:http'
import type { Socket } from 'node:net'

export const LINGER_TOTAL_MS = 10_000
export const LINGER_IDLE_MS = 2_000
export const LINGER_MAX_BYTES = 64 << 20

const kRequest = Symbol('wharf.lastRequest')
type TrackedSocket = Socket & { [kRequest]?: IncomingMessage }

export function lingeringClose(server: Server): void {
  const patch = (socket: TrackedSocket) => {
    const destroySoon = socket.destroySoon.bind(socket)
    socket.destroySoon = () => {
      const req = socket[kRequest]
      if (!req || req.complete || socket.destroyed) {
        destroySoon()
        return
      }
      linger(socket, req)
    }
  }
  server.on('connection', patch)
  // Under TLS the HTTP layer works on the TLS socket, not on the TCP one.
  server.on('secureConnection', patch)
  server.on('request', (req: IncomingMessage) => {
    (req.socket as TrackedSocket)[kRequest] = req
  })
}

function linger(socket: Socket, req: IncomingMessage): void {
  let drained = 0
  const stop = () => {
    clearTimeout(total)
    clearTimeout(idle)
    socket.destroy()
  }
  const total = setTimeout(stop, LINGER_TOTAL_MS)
  const idle = setTimeout(stop, LINGER_IDLE_MS)
  total.unref()
  idle.unref()
  // The HTTP parser reads the socket itself and pushes the body into the request, which stops
  // the socket once nobody reads the request: so the request is what is drained.
  const onData = (d: Buffer) => {
    drained += d.length
    if (drained > LINGER_MAX_BYTES) stop()
    else idle.refresh()
  }
  req.on('data', onData)
  socket.on('data', onData)
  socket.once('end', stop)
  socket.once('close', stop)
  socket.once('error', stop)
  // FIN after the answer; the read side stays open.
  socket.end()
  req.resume()
  // Node's HTTP server stops reading the socket (flags of its own, and the parser reading the
  // handle directly) once the answer to a half-read request is out: start it again.
  const raw = socket as Socket & { _paused?: boolean; _handle?: { reading?: boolean; readStart?: () => unknown } | null }
  raw._paused = false
  socket.resume()
  if (raw._handle && !raw._handle.reading && typeof raw._handle.readStart === 'function') {
    raw._handle.reading = true
    raw._handle.readStart()
  }
}
