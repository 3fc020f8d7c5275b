import NIOCore

/// Closes a connection that sends more than ``limit`` bytes without completing a request: headers or a body
/// of any size would otherwise be buffered or parsed at the sender's pace. Sits before the HTTP decoder;
/// ``HTTPHandler`` calls ``requestCompleted()`` after each request.
final class RequestSizeLimiter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Bytes a request (line, headers and ignored body) may have.
    let limit: Int
    private var received = 0

    init(limit: Int) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytes
        guard received <= limit else {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
    }

    /// A request was read completely: the next one starts counting from zero.
    func requestCompleted() {
        received = 0
    }
}
