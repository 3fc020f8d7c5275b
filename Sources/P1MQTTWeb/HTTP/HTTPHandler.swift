import NIOCore
import NIOHTTP1
import NIOPosix

/// One connection's requests: routes each complete request and writes the answer with the security headers.
/// Request bodies are read and ignored (no endpoint takes one).
final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: WebRouter
    private let stream: EventStream
    private let historyPool: NIOThreadPool
    private let limiter: RequestSizeLimiter
    private var request: HTTPRequestHead?
    /// True once the connection carries an event stream: it then never ends a response, and idle reads are
    /// expected.
    private var streaming = false

    init(router: WebRouter, stream: EventStream, historyPool: NIOThreadPool, limiter: RequestSizeLimiter) {
        self.router = router
        self.stream = stream
        self.historyPool = historyPool
        self.limiter = limiter
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break  // ignored; RequestSizeLimiter bounds it
        case .end:
            limiter.requestCompleted()
            guard let head = request, !streaming else { return }
            request = nil
            handle(head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A connection that has sent nothing for a while (and is not an event stream) is closed, so idle
        // keep-alive connections do not pile up.
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read, !streaming {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func handle(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        switch router.route(method: head.method, uri: head.uri, headers: head.headers, now: WebRouter.wallClock()) {
        case .respond(let response):
            write(response, for: head, context: context)
        case .events:
            startEvents(head, context: context)
        case .history(let kind, let from, let to):
            // The history store may read from disk: not on the event loop, where it would hold up every
            // other client.
            guard let history = router.history else { return }
            let future = historyPool.runIfActive(eventLoop: context.eventLoop) { () -> WebResponse in
                let result: Result<[PeriodRecord], HistoryError>
                do throws(HistoryError) {
                    result = .success(try history.records(kind, from: from, to: to))
                } catch {
                    result = .failure(error)
                }
                return WebRouter.historyResponse(result)
            }
            future.assumeIsolated().whenComplete { result in
                switch result {
                case .success(let response): self.write(response, for: head, context: context)
                case .failure: self.write(.error(.serviceUnavailable, "the server is shutting down"), for: head, context: context)
                }
            }
        }
    }

    private func write(_ response: WebResponse, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = Self.headers(contentType: response.contentType, policy: response.contentSecurityPolicy)
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.add(name: "Content-Length", value: String(response.body.count))
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: response.status, headers: headers))),
                      promise: nil)
        if request.method != .HEAD && !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    private func startEvents(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard stream.hasRoom else {
            write(.error(.serviceUnavailable, "too many /events clients"), for: head, context: context)
            return
        }
        var headers = Self.headers(contentType: "text/event-stream; charset=utf-8", policy: SecurityHeaders.strictPolicy)
        // Tell nginx not to buffer the stream.
        headers.add(name: "X-Accel-Buffering", value: "no")
        if head.method == .HEAD {
            headers.add(name: "Content-Length", value: "0")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        // No Content-Length: NIO's encoder sends HTTP/1.1 as chunked; each event is a chunk.
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
        streaming = true
        stream.add(context.channel, latest: router.live.latest)
    }

    private static func headers(contentType: String, policy: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Security-Policy", value: policy)
        for (name, value) in SecurityHeaders.fixed { headers.add(name: name, value: value) }
        return headers
    }
}
