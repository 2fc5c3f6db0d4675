public import Hummingbird
import NIOCore

/// Hummingbird's per-request context plus the TCP peer's address (client IP rules of api.md §1).
public struct ZTARequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address as text, nil for a Unix socket.
    public let peerAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Bodies are read by the dispatcher under per-route limits, not by Hummingbird.
    public var maxUploadSize: Int { 128 << 20 }
}
