#if os(Linux)
import Glibc
import Testing
@testable import ZTAServer

/// Deliveries run on their own low-priority thread (`WebhookExecutor`), so tracking keeps the CPU
/// under load; after shutdown a late job still runs (on the default executor), never hangs.
@Suite("Webhook executor")
struct WebhookExecutorTests {
    static func currentNice() -> Int32 {
        getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)  // the calling thread on Linux
    }

    @Test func tasksRunAtTheLowestPriority() async {
        let executor = WebhookExecutor()
        let inside = await Task(executorPreference: executor) { Self.currentNice() }.value
        #expect(inside == WebhookExecutor.niceness)
        // Across an await the task comes back to the same thread.
        let afterAwait = await Task(executorPreference: executor) { () async -> Int32 in
            await Task.yield()
            return Self.currentNice()
        }.value
        #expect(afterAwait == WebhookExecutor.niceness)
        await executor.shutdown()
        let late = await Task(executorPreference: executor) { 42 }.value
        #expect(late == 42)
        #expect(executor.loop == nil)
    }
}
#endif
