import ZTAStorage

/// Where `GET /api/realtime` gathers its accumulators: the seam between the store and the
/// shared ordering and rendering (`RealtimeAggregate.render`). The window is a few minutes of
/// one site, so a store may return the window's rows and fold them with
/// `RealtimeAggregate.add` (ClickHouse); the embedded store keeps its per-chunk scan.
package protocol RealtimeBackend: Sendable {
    /// The accumulators of `r`'s window (`RealtimeRequest.scanWindow`).
    func realtime(_ r: RealtimeRequest) throws -> RealtimeAggregate
}

/// The embedded engine's realtime scan.
struct EmbeddedRealtime: RealtimeBackend {
    let source: any EventSource

    func realtime(_ r: RealtimeRequest) throws -> RealtimeAggregate {
        try RealtimeAggregate.collect(r, source: source)
    }
}
