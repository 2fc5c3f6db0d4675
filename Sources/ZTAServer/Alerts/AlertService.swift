import ServiceLifecycle

/// Runs the alert evaluator (api.md §7.7) every `alertInterval` seconds (default 300) while
/// serving; `ALERT_INTERVAL_SECONDS=0` turns it off (tests drive `evaluateAlerts(nowMs:)` with a
/// simulated clock instead). `now` is the clock a round is evaluated at.
struct AlertService: Service {
    let core: ServerCore
    var now: @Sendable () -> Int64 = { Clock.nowMs() }

    func run() async throws {
        let interval = core.config.alertInterval
        guard interval > 0 else {
            // Off: stay until shutdown (a service that returns would stop the whole group).
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                if Task.isCancelled { break }
                await core.evaluateAlerts(nowMs: now())
            }
        }
    }
}
