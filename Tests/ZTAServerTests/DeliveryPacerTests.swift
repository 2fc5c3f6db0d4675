import Foundation
import Testing
@testable import ZTAServer

/// The server-wide pace of webhook delivery attempts.
@Suite("DeliveryPacer") struct DeliveryPacerTests {
    @Test func slotsAreSpacedByTheIntervalFromTheFirstFreeOne() {
        let pacer = DeliveryPacer(perSecond: 10)
        let t0 = ContinuousClock.now
        // Five senders at the same instant: waits of 0, 100, 200, 300, 400 ms.
        let waits = (0..<5).map { _ in pacer.reserve(now: t0) }
        #expect(waits == [.zero, .milliseconds(100), .milliseconds(200), .milliseconds(300), .milliseconds(400)])
        // Later, still inside the reserved stretch: queued after the last reservation.
        #expect(pacer.reserve(now: t0 + .milliseconds(250)) == .milliseconds(250))
        // After an idle gap: free at once, and no burst credit builds up.
        let later = t0 + .seconds(5)
        #expect(pacer.reserve(now: later) == .zero)
        #expect(pacer.reserve(now: later) == .milliseconds(100))
    }

    @Test func zeroTurnsPacingOff() {
        let pacer = DeliveryPacer(perSecond: 0)
        let t0 = ContinuousClock.now
        #expect(pacer.interval == nil)
        #expect((0..<100).allSatisfy { _ in pacer.reserve(now: t0) == .zero })
    }

    @Test func concurrentReservationsNeverShareASlot() async {
        let pacer = DeliveryPacer(perSecond: 1000)
        let t0 = ContinuousClock.now
        let waits = await withTaskGroup(of: Duration.self) { g in
            for _ in 0..<200 { g.addTask { pacer.reserve(now: t0) } }
            return await g.reduce(into: [Duration]()) { $0.append($1) }
        }
        #expect(Set(waits).count == 200)
        #expect(waits.max() == .milliseconds(199))
    }

    @Test func environmentSetsThePace() {
        var c = ServerConfig(dataDirectory: "/nonexistent")
        #expect(c.webhookMaxDeliveriesPerSecond == 500)
        c.apply(environment: ["WEBHOOK_MAX_DELIVERIES_PER_SECOND": "0"])
        #expect(c.webhookMaxDeliveriesPerSecond == 0)
        c.apply(environment: ["WEBHOOK_MAX_DELIVERIES_PER_SECOND": "-3"])
        #expect(c.webhookMaxDeliveriesPerSecond == 0)
    }
}
