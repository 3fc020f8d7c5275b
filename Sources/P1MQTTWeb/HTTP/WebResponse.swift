import NIOHTTP1
import P1MQTT

/// One complete answer of the web server, before the security headers are added.
struct WebResponse: Sendable {
    /// The status.
    var status: HTTPResponseStatus
    /// The `Content-Type`.
    var contentType: String
    /// The body (not sent for HEAD).
    var body: [UInt8]
    /// Extra headers (`Last-Modified`, `Allow`, `WWW-Authenticate`, …).
    var headers: [(String, String)] = []
    /// The Content-Security-Policy; the strict default allows nothing but being read.
    var contentSecurityPolicy = SecurityHeaders.strictPolicy

    /// A JSON document.
    static func json(_ body: [UInt8], status: HTTPResponseStatus = .ok) -> WebResponse {
        WebResponse(status: status, contentType: "application/json", body: body)
    }

    /// An error as `{"error":"<status reason>","reason":"<message>"}`.
    static func error(_ status: HTTPResponseStatus, _ reason: String) -> WebResponse {
        var json = JSONWriter(capacity: 128)
        json.beginObject()
        json.key("error")
        json.string(status.reasonPhrase.lowercased())
        json.key("reason")
        json.string(reason)
        json.endObject()
        return .json(json.bytes, status: status)
    }
}

/// The headers every response carries, so that the page cannot be framed (clickjacking), content types are
/// not guessed, and no URL (which may hold `?token=`) leaks to other sites in a Referer.
enum SecurityHeaders {
    /// For everything but the page: no scripts, no styles, no framing.
    static let strictPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    /// The headers besides the Content-Security-Policy.
    static let fixed: [(String, String)] = [
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]
}
