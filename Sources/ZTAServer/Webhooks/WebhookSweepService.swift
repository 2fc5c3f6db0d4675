import ServiceLifecycle

/// Sends `session_end` for sessions idle 30 minutes: a sweep every `webhookSweepInterval`
/// while serving; at graceful shutdown the senders stop and the HTTP clients close.
struct WebhookSweepService: Service {
    let core: ServerCore

    func run() async throws {
        let interval = core.config.webhookSweepInterval
        let webhooks = core.webhooks
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                webhooks.sweepSessions(nowMs: webhooks.now())
            }
        }
        await webhooks.shutdown()
    }
}
