#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An open serial device in raw mode, read with `poll` so a read never blocks longer than its timeout.
///
/// A plain value holding the descriptor (and so Sendable); whoever opens it closes it, once.
struct SerialPort: Sendable {
    /// Why a device cannot be opened or configured, phrased so the user can act on it.
    struct Failure: Error, Sendable, CustomStringConvertible {
        /// What kind of problem, for deciding between waiting and giving up.
        enum Kind: Sendable, Hashable {
            /// The device node does not exist (yet): unplugged, or a typo.
            case notFound
            /// The user may not open it.
            case permissionDenied
            /// Another program holds it.
            case busy
            /// It exists but is not a terminal (a file, a directory).
            case notASerialDevice
            /// Anything else.
            case other
        }

        /// The kind.
        let kind: Kind
        /// One line: device, problem, what to do.
        let description: String
    }

    /// What a read found.
    enum ReadResult: Sendable, Equatable {
        /// This many bytes were read into the buffer.
        case bytes(Int)
        /// Nothing arrived before the timeout.
        case timeout
        /// The device went away (unplugged, pty closed) or failed; the reason for the log.
        case gone(String)
    }

    /// The path it was opened with.
    let device: String
    /// The open descriptor.
    let descriptor: Int32

    /// Opens `device` without making it the controlling terminal, non-blocking (reads go through `poll`).
    static func open(_ device: String) throws(Failure) -> SerialPort {
        let fd = Glibc.open(device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw failure(opening: device, errno: errno) }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT != S_IFCHR {
            Glibc.close(fd)
            throw Failure(kind: .notASerialDevice, description: "\(device) is not a serial device (it is a file or directory); give the P1 cable's device, e.g. /dev/ttyUSB0")
        }
        return SerialPort(device: device, descriptor: fd)
    }

    /// The failure for an `open` that set `errno`.
    static func failure(opening device: String, errno code: Int32) -> Failure {
        switch code {
        case ENOENT, ENODEV, ENXIO:
            return Failure(kind: .notFound, description: "\(device) not found: is the P1 cable plugged in? (ls /dev/ttyUSB* /dev/ttyACM* /dev/serial/by-id/ lists the candidates)")
        case EACCES, EPERM:
            return Failure(kind: .permissionDenied, description: "permission denied opening \(device): add your user to the dialout group (sudo usermod -aG dialout $USER, then log in again)")
        case EBUSY:
            return Failure(kind: .busy, description: "\(device) is busy: another program (ModemManager, a second p1mqtt?) has it open")
        case EISDIR:
            return Failure(kind: .notASerialDevice, description: "\(device) is a directory, not a serial device")
        default:
            return Failure(kind: .other, description: "cannot open \(device): \(String(cString: strerror(code)))")
        }
    }

    /// Sets raw mode with `settings`, no flow control, reads that return at once (VMIN = VTIME = 0), and drops
    /// whatever was received under the previous settings.
    func configure(_ settings: SerialSettings) throws(Failure) {
        var attributes = termios()
        guard tcgetattr(descriptor, &attributes) == 0 else {
            let code = errno
            if code == ENOTTY {
                throw Failure(kind: .notASerialDevice, description: "\(device) is not a serial device (not a terminal); give the P1 cable's device, e.g. /dev/ttyUSB0")
            }
            throw Failure(kind: .other, description: "cannot read the settings of \(device): \(String(cString: strerror(code)))")
        }
        Self.apply(settings, to: &attributes)
        guard tcsetattr(descriptor, TCSANOW, &attributes) == 0 else {
            let code = errno
            throw Failure(kind: .other, description: "cannot set \(device) to \(settings): \(String(cString: strerror(code)))")
        }
        tcflush(descriptor, TCIFLUSH)
    }

    /// Writes `settings` into `attributes`: raw mode, receiver on, modem lines ignored, no flow control.
    static func apply(_ settings: SerialSettings, to attributes: inout termios) {
        cfmakeraw(&attributes)
        // CLOCAL: a P1 cable has no carrier-detect line, and without it opening or reading would wait for one.
        attributes.c_cflag |= tcflag_t(CLOCAL) | tcflag_t(CREAD)
        // CRTSCTS is imported as UInt32 and the others as Int32, so each is converted on its own.
        attributes.c_cflag &= ~(tcflag_t(CRTSCTS) | tcflag_t(CSTOPB) | tcflag_t(CSIZE) | tcflag_t(PARENB) | tcflag_t(PARODD))
        attributes.c_iflag &= ~(tcflag_t(IXON) | tcflag_t(IXOFF) | tcflag_t(IXANY) | tcflag_t(INPCK) | tcflag_t(ISTRIP))
        attributes.c_cflag |= settings.dataBits == 7 ? tcflag_t(CS7) : tcflag_t(CS8)
        switch settings.parity {
        case .none:
            break
        case .even, .odd:
            attributes.c_cflag |= tcflag_t(PARENB)
            if settings.parity == .odd { attributes.c_cflag |= tcflag_t(PARODD) }
            // Check parity and clear the eighth bit, so a 7E1 line delivers plain ASCII.
            attributes.c_iflag |= tcflag_t(INPCK) | tcflag_t(ISTRIP)
        }
        if settings.stopBits == 2 { attributes.c_cflag |= tcflag_t(CSTOPB) }
        // c_cc is imported as a tuple; VMIN = VTIME = 0 makes read return what is there, poll does the waiting.
        withUnsafeMutableBytes(of: &attributes.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        let speed = speedConstant(settings.baud)
        cfsetispeed(&attributes, speed)
        cfsetospeed(&attributes, speed)
    }

    /// The termios constant for a speed in ``SerialSettings/supportedBauds``; 115200 for anything else
    /// (parsing has already refused other speeds).
    static func speedConstant(_ baud: Int) -> speed_t {
        switch baud {
        case 1200: speed_t(B1200)
        case 2400: speed_t(B2400)
        case 4800: speed_t(B4800)
        case 9600: speed_t(B9600)
        case 19200: speed_t(B19200)
        case 38400: speed_t(B38400)
        case 57600: speed_t(B57600)
        case 230400: speed_t(B230400)
        default: speed_t(B115200)
        }
    }

    /// The current terminal attributes, or nil when they cannot be read.
    func attributes() -> termios? {
        var attributes = termios()
        return tcgetattr(descriptor, &attributes) == 0 ? attributes : nil
    }

    /// Waits up to `timeoutMilliseconds` for data and reads what is there into `buffer`.
    func read(into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int32) -> ReadResult {
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&request, 1, timeoutMilliseconds)
        if ready < 0 {
            let code = errno
            return code == EINTR ? .timeout : .gone("poll failed: \(String(cString: strerror(code)))")
        }
        if ready == 0 { return .timeout }
        let hungUp = request.revents & Int16(POLLHUP) != 0
        if request.revents & Int16(POLLNVAL) != 0 { return .gone("the descriptor is no longer valid") }
        let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
        if count > 0 { return .bytes(count) }
        if count == 0 {
            // With VMIN = 0 a read of nothing is normal; only together with a hang-up does it mean the end.
            return hungUp ? .gone("the device hung up") : .timeout
        }
        let code = errno
        switch code {
        case EAGAIN, EINTR:
            if hungUp { return .gone("the device hung up") }
            // poll said readable but nothing was there: avoid a busy loop on a line that keeps signalling.
            usleep(10_000)
            return .timeout
        case EIO, ENXIO, ENODEV:
            return .gone("the device is gone (\(String(cString: strerror(code))))")
        default:
            return .gone("read failed: \(String(cString: strerror(code)))")
        }
    }

    /// Closes the descriptor.
    func close() {
        _ = Glibc.close(descriptor)
    }
}
