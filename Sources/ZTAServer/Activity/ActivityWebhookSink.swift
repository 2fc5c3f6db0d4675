/// How the webhook delivery service reports `webhook.failed` / `webhook.disabled` to the activity
/// log without depending on the server: (action, webhook id, site id, webhook URL, metadata,
/// time, the event whose delivery failed).
typealias WebhookActivitySink = @Sendable (ActivityAction, String, String, String, [(String, JSONValue)], Int64,
                                           WebhookEvent) async -> Void

extension ServerCore {
    /// Connects the background producers of activity entries (webhook deliveries) to the log.
    /// Called once from `init`.
    func connectActivityLog() {
        webhooks.activitySink.withLock {
            $0 = { [weak self] action, webhookId, siteId, url, metadata, nowMs, event in
                guard let self else { return }
                let description = (try? await self.meta.webhook(id: webhookId))?.description
                // A failed delivery of an `activity` event is logged but not sent on as another
                // `activity` event: a failing receiver subscribed to it would otherwise feed itself.
                await self.recordSystemActivity(action, target: .webhook(id: webhookId, url: url, description: description),
                                                siteId: siteId, metadata: metadata, nowMs: nowMs,
                                                sendWebhook: !(action == .webhookFailed && event == .activity))
            }
        }
    }
}
