import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP server on loopback for webhook tests, misbehaving on a schedule:
/// per request (in arrival order) it answers a status, stalls without answering, or
/// drops the connection. It records every request and the ids it accepted (2xx).
final class TestServer: @unchecked Sendable {
    enum Action: Sendable {
        case status(Int)
        /// Never answer (the client's timeout fires).
        case stall
        /// Close the connection without an answer.
        case drop
    }

    struct Request: Sendable {
        var idempotencyKey: String
        var body: String
        var headers: [(String, String)]
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: Channel?
    private let lock = NSLock()
    private var plan: @Sendable (Int) -> Action
    private var count = 0
    private(set) var requests: [Request] = []
    /// Bodies the server answered 2xx to, in order.
    private(set) var accepted: [Request] = []

    init(plan: @escaping @Sendable (Int) -> Action = { _ in .status(200) }) {
        self.plan = plan
    }

    /// Starts listening on `port` (0: any free port); returns the port.
    @discardableResult
    func start(port: Int = 0) throws -> Int {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(server: self))
                }
            }
        let ch = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
        channel = ch
        return ch.localAddress!.port!
    }

    func stop() {
        try? channel?.close().wait()
        channel = nil
    }

    deinit {
        stop()
        try? group.syncShutdownGracefully()
    }

    var acceptedIDs: [String] {
        lock.lock()
        defer { lock.unlock() }
        return accepted.map(\.idempotencyKey)
    }

    var requestCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return requests.count
    }

    fileprivate func next(_ r: Request) -> Action {
        lock.lock()
        defer { lock.unlock() }
        requests.append(r)
        let action = plan(count)
        count += 1
        if case .status(let code) = action, (200..<300).contains(code) { accepted.append(r) }
        return action
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: TestServer
        var head: HTTPRequestHead?
        var body = ""

        init(server: TestServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                head = h
                body = ""
            case .body(var buffer):
                body += buffer.readString(length: buffer.readableBytes) ?? ""
            case .end:
                let headers = head?.headers.map { ($0.name, $0.value) } ?? []
                let key = head?.headers.first(name: "Idempotency-Key") ?? ""
                switch server.next(Request(idempotencyKey: key, body: body, headers: headers)) {
                case .status(let code):
                    var h = HTTPHeaders()
                    h.add(name: "Content-Length", value: "0")
                    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: code), headers: h))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                case .stall:
                    break
                case .drop:
                    context.close(promise: nil)
                }
            }
        }
    }
}
