import ZTAStorage

/// Where a logical `AggregateQuery` runs: the seam between the query layer (parsing, ordering,
/// rounding, rendering — the same for every store) and the store that holds the events.
///
/// The embedded store runs it as physical operators over an `EventSource`
/// (`EmbeddedAggregates`); the ClickHouse store (`ZTAClickHouse`) compiles it to SQL. Both
/// return the additive, unrounded aggregates of events.md §3 in an `AggregateResult`, so every
/// answer is rendered by the same code from the same kind of numbers.
package protocol AggregateBackend: Sendable {
    /// Runs `query` and returns its total, series (one entry per bucket of `query.series`, in
    /// order) and breakdown rows (unordered; the renderers order and cut them).
    func aggregate(_ query: AggregateQuery) throws -> AggregateResult
}

/// The embedded engine's backend: the vectorized executor over the store's chunks.
struct EmbeddedAggregates: AggregateBackend {
    let source: any EventSource
    let threads: Int

    init(source: any EventSource, threads: Int) {
        self.source = source
        self.threads = max(1, threads)
    }

    func aggregate(_ query: AggregateQuery) throws -> AggregateResult {
        try AggregateExecutor(plan: AggregatePlan(query), threads: threads).run(source: source)
    }
}
