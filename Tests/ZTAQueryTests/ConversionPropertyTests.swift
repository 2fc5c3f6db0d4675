import Foundation
import XCTest
import ZTAFormat
import ZTAStorage
import ZTAWorkloads
@testable import ZTAQuery
import ZTATestSupport

/// Goals and funnels of the engine against `ConversionReference` on random data built to hit
/// the corners: timestamps on a coarse grid (many equal `ts`, events exactly `timeWindow` after
/// a step-1 match), steps that repeat, visitors spread over several sessions, every event type,
/// random filters of both kinds, several time zones and a second site.
final class ConversionPropertyTests: XCTestCase {
    typealias P = PropertyTests
    static let categories = ["ecommerce", "", "ui"]
    static let labels = ["hero", "", "footer"]

    /// Events on a 30 s grid: a visitor has 1–3 sessions, each a few events.
    static func events(_ rng: inout SplitMix64, site: String, from: Int64, to: Int64, visitors: Int) -> [EventRecord] {
        var out: [EventRecord] = []
        let slots = UInt64(max(1, (to - from) / 30_000))
        for _ in 0..<visitors {
            let visitor = rng.next()
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let session = rng.next()
                // Sessions start a little before the window too (their early events are outside it).
                var t = from - 120_000 + Int64(rng.next() % (slots + 8)) * 30_000
                let referrer = P.pick(P.referrers, &rng), country = P.pick(P.countries, &rng)
                let device = P.pick(P.devices, &rng)
                for _ in 0..<(1 + Int(rng.next() % 7)) {
                    var r = EventRecord()
                    r.site = site; r.visitor = visitor; r.session = session; r.ts = t
                    let roll = rng.next() % 100
                    r.type = roll < 45 ? .pageview : roll < 70 ? .event : roll < 80 ? .engagement : roll < 88 ? .click : roll < 94 ? .heartbeat : .scroll
                    r.path = P.pick(P.paths, &rng)
                    r.referrer = referrer; r.country = country; r.device = device
                    r.channel = referenceChannel(referrer: referrer, utmSource: "", utmMedium: "")
                    if r.type == .event {
                        r.name = P.pick(P.names, &rng)
                        r.category = P.pick(categories, &rng)
                        r.label = P.pick(labels, &rng)
                        r.value = rng.next() % 3 == 0 ? Double(rng.next() % 50) / 4 : 0
                    }
                    out.append(r)
                    // Ties (0), one grid step, or a few.
                    let g = rng.next() % 4
                    t += g == 0 ? 0 : Int64(1 + rng.next() % 4) * 30_000
                }
            }
        }
        return out
    }

    static func randomGoal(_ rng: inout SplitMix64, id: String) -> GoalDefinition {
        switch rng.next() % 3 {
        case 0:
            let (path, m): (String, MatchType) = P.pick([("/pricing", .exact), ("/blog/", .contains), ("^/docs/[xy]$", .regex),
                                                         ("/", .exact), ("b", .contains), ("(a|o)g", .regex), ("/über", .exact)], &rng)
            return GoalDefinition(id: id, name: id, type: .pageview, path: path, matchType: m, value: Double(rng.next() % 3))
        case 1:
            return GoalDefinition(id: id, name: id, type: .event, eventAction: P.pick(P.names.filter { !$0.isEmpty }, &rng),
                                  eventCategory: rng.next() % 2 == 0 ? nil : P.pick(categories, &rng),
                                  eventLabel: rng.next() % 2 == 0 ? nil : P.pick(labels, &rng), value: Double(rng.next() % 4) / 2)
        default:
            return GoalDefinition(id: id, name: id, type: .duration, durationSeconds: P.pick([30, 60, 90, 150], &rng), value: 0.25)
        }
    }

    static func randomStep(_ rng: inout SplitMix64, _ k: Int) -> FunnelStepDefinition {
        switch rng.next() % 3 {
        case 0:
            let (path, m): (String, MatchType) = P.pick([("/pricing", .exact), ("/blog/", .contains), ("^/docs", .regex), ("/", .exact)], &rng)
            return FunnelStepDefinition(name: "Step \(k)", type: .pageview, path: path, matchType: m)
        case 1:
            return FunnelStepDefinition(name: "Step \(k)", type: .event, eventAction: P.pick(P.names.filter { !$0.isEmpty }, &rng),
                                        eventCategory: rng.next() % 3 == 0 ? "ecommerce" : nil)
        default:
            return FunnelStepDefinition(name: "Step \(k)", type: .goal, goal: randomGoal(&rng, id: "g\(k)"))
        }
    }

    struct Setup {
        var mine: [EventRecord]
        var engines: [QueryEngine]
        var tz: String
        var from: Int64
        var to: Int64
    }

    static func setups(_ rng: inout SplitMix64) -> [Setup] {
        var out: [Setup] = []
        for sc in P.scenarios {
            let tz = SiteTimeZone(sc.tz)!
            let from = tz.startOfDay(sc.from), to = tz.startOfDay(sc.to.adding(days: 1))
            for _ in 0..<2 {
                let mine = events(&rng, site: "s", from: from, to: to, visitors: 30 + Int(rng.next() % 60))
                let other = events(&rng, site: "other", from: from, to: to, visitors: 10)
                let source = InMemoryEventSource(chunksBySite: ["s": makeChunks(mine, rng: &rng, pieces: 1 + Int(rng.next() % 4)),
                                                                "other": makeChunks(other, rng: &rng)])
                out.append(Setup(mine: mine, engines: [QueryEngine(source: source, threads: 1), QueryEngine(source: source, threads: 3)],
                                 tz: sc.tz, from: from, to: to))
            }
        }
        return out
    }

    static func window(_ s: Setup) -> TimeWindow { TimeWindow(from: s.from, to: s.to, timeZone: SiteTimeZone(s.tz)!) }

    func testGoalStatsMatchReference() throws {
        var rng = SplitMix64(seed: 0x60A1)
        var checked = 0
        for s in Self.setups(&rng) {
            for q in 0..<25 {
                let goal = Self.randomGoal(&rng, id: "goal_\(q)")
                let filters = rng.next() % 3 == 0 ? [] : P.randomFilters(&rng)
                let parsed = try FilterParser.parse(filters.map(\.text).joined(separator: ";"))
                let ref = ConversionReference.goal(s.mine, from: s.from, to: s.to, tz: TimeZone(identifier: s.tz)!, filters: filters, goal: goal)
                for e in s.engines {
                    let st = try e.goalStats(site: "s", window: Self.window(s), filters: parsed, goal: goal)
                    var got = ConversionReference.GoalResult()
                    got.completions = Int(st.completions); got.uniqueCompletions = Int(st.uniqueCompletions)
                    got.conversionRate = st.conversionRate; got.totalValue = st.totalValue; got.avgValue = st.avgValue
                    func rows(_ a: [GoalStatsRow]) -> [ConversionReference.GroupRow] {
                        a.map { .init(label: $0.label, completions: Int($0.completions), rate: $0.conversionRate) }
                    }
                    got.timeseries = rows(st.timeseries); got.topSources = rows(st.topSources); got.topPages = rows(st.topPages)
                    XCTAssertEqual(got, ref, "tz \(s.tz) goal \(goal) filters \(filters.map(\.text))")
                    if got != ref { return }
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 200)
    }

    func testAnyGoalAndSummariesAgreeWithSingleGoals() throws {
        var rng = SplitMix64(seed: 0xA11)
        for s in Self.setups(&rng).prefix(4) {
            let goals = (0..<5).map { Self.randomGoal(&rng, id: "goal_\($0)") }
            let e = s.engines[1]
            let sums = try e.goalSummaries(site: "s", window: Self.window(s), filters: [], goals: goals)
            var union = Set<UInt64>()
            for (g, sum) in zip(goals, sums) {
                let single = try e.goalStats(site: "s", window: Self.window(s), filters: [], goal: g)
                XCTAssertEqual(sum.completions, single.completions)
                XCTAssertEqual(sum.uniqueCompletions, single.uniqueCompletions)
                XCTAssertEqual(sum.conversionRate, single.conversionRate)
                _ = union
            }
            union = []
            let any = try e.goalStats(site: "s", window: Self.window(s), filters: [], goals: goals)
            // Any-goal completers ⊇ each goal's; visitors are the same denominator.
            for sum in sums { XCTAssertGreaterThanOrEqual(any.uniqueCompletions, sum.uniqueCompletions); XCTAssertEqual(any.visitors, sum.visitors) }
            XCTAssertLessThanOrEqual(any.uniqueCompletions, sums.reduce(0) { $0 + $1.uniqueCompletions })
        }
    }

    func testFunnelStatsMatchReference() throws {
        var rng = SplitMix64(seed: 0xF0E1)
        var checked = 0
        for s in Self.setups(&rng) {
            for q in 0..<25 {
                let n = 2 + Int(rng.next() % 3)
                var steps = (1...n).map { Self.randomStep(&rng, $0) }
                // Repeated steps: the same predicate twice in a row.
                if rng.next() % 4 == 0 { steps[1] = steps[0]; steps[1].name = "Step 2" }
                let funnel = FunnelDefinition(id: "funnel_\(q)", name: "F", steps: steps, timeWindow: P.pick([60, 90, 120, 300, 3600], &rng))
                let filters = rng.next() % 3 == 0 ? [] : P.randomFilters(&rng)
                let parsed = try FilterParser.parse(filters.map(\.text).joined(separator: ";"))
                let ref = ConversionReference.funnel(s.mine, from: s.from, to: s.to, tz: TimeZone(identifier: s.tz)!, filters: filters, funnel: funnel)
                for e in s.engines {
                    let st = try e.funnelStats(site: "s", window: Self.window(s), filters: parsed, funnel: funnel)
                    var got = ConversionReference.FunnelResult()
                    got.totalVisitors = Int(st.totalVisitors); got.completions = Int(st.completions)
                    got.overallConversionRate = st.overallConversionRate; got.avgTimeToComplete = Int(st.avgTimeToComplete)
                    got.steps = st.steps.map { .init(visitors: Int($0.visitors), dropOff: Int($0.dropOff), dropOffRate: Double($0.dropOffRate1dp) / 10,
                                                     progressRate: Double($0.progressRate1dp) / 10, avgTimeOnStep: Int($0.avgTimeOnStep)) }
                    got.timeseries = st.timeseries.map { "\($0.date) \($0.visitors) \($0.completions) \(Double($0.conversionRate2dp) / 100)" }
                    XCTAssertEqual(got, ref, "tz \(s.tz) funnel \(funnel.steps.map { "\($0.type) \($0.path ?? $0.eventAction ?? $0.goal?.id ?? "")" }) w \(funnel.timeWindow) filters \(filters.map(\.text))")
                    if got != ref { return }
                }
                if ref.totalVisitors > 0 { checked += 1 }
            }
        }
        XCTAssertGreaterThan(checked, 150)
    }
}
