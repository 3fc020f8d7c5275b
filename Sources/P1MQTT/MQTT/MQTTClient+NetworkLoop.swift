import CMosquitto
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Why p1mqtt drives the established connection itself instead of calling `mosquitto_loop`:
// in threaded mode every `mosquitto_publish` writes a byte to libmosquitto's internal socket pair to wake
// `mosquitto_loop`, which reads one byte, writes, and returns: for a telegram's ~42 messages, 42 wake-ups of
// the network thread and some 170 system calls. Here the publisher wakes the thread once per batch
// (`WakeSignal`) and one `mosquitto_loop_write` sends everything queued. All socket I/O still happens on the
// network thread (OpenSSL's connection objects are not safe to read and write from two threads). Connecting —
// TCP, the TLS handshake, CONNACK — stays with `mosquitto_loop`, which knows those states.
extension MQTTClient {
    /// One turn of the network loop for an established connection: waits up to `timeout` milliseconds for
    /// the socket or a publisher, then reads, writes what is queued, and keeps the connection alive.
    /// Returns `MOSQ_ERR_SUCCESS` or why the connection ended, like `mosquitto_loop`.
    func serviceConnection(timeout: Int32) -> Int32 {
        let socket = mosquitto_socket(mosq)
        guard socket >= 0 else { return Int32(MOSQ_ERR_NO_CONN.rawValue) }
        var events = Int16(POLLIN)
        if mosquitto_want_write(mosq) { events |= Int16(POLLOUT) }
        var watched = [pollfd(fd: socket, events: events, revents: 0),
                       pollfd(fd: wake.descriptor, events: Int16(POLLIN), revents: 0)]
        let ready = poll(&watched, nfds_t(watched.count), timeout)
        if ready < 0 && errno != EINTR {
            return Int32(MOSQ_ERR_ERRNO.rawValue)
        }
        let woken = watched[1].revents != 0
        if woken { wake.drain() }
        if watched[0].revents != 0 && watched[0].revents != Int16(POLLOUT) {
            // Readable, or hung up / failed: reading reports which, and closes the socket on failure.
            let code = mosquitto_loop_read(mosq, 1)
            guard code == MOSQ_ERR_SUCCESS.rawValue else { return code }
        }
        // After a wake-up, write even if `mosquitto_want_write` (which reads the queue without its lock) has
        // not noticed the new packets yet: writing an empty queue costs nothing.
        if woken || mosquitto_want_write(mosq) {
            // Corked, the batch's packets (one send each) collect in the socket and leave together as one
            // segment when uncorked, instead of each send pushing its own through the network stack.
            var on: Int32 = 1
            var off: Int32 = 0
            _ = setsockopt(socket, Int32(IPPROTO_TCP), TCP_CORK, &on, socklen_t(MemoryLayout<Int32>.size))
            let code = mosquitto_loop_write(mosq, 1)
            // Writing DISCONNECT, or failing, closes the socket: its number may already belong to another.
            if mosquitto_socket(mosq) == socket {
                _ = setsockopt(socket, Int32(IPPROTO_TCP), TCP_CORK, &off, socklen_t(MemoryLayout<Int32>.size))
            }
            guard code == MOSQ_ERR_SUCCESS.rawValue else { return code }
        }
        // Keepalive: sends PINGREQ when due, and ends the connection when the broker stopped answering.
        return mosquitto_loop_misc(mosq)
    }
}
