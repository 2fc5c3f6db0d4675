public import ZTAFormat

/// Goal kinds of api.md §7.5.
public enum GoalType: String, Sendable, CaseIterable {
    case pageview, event, duration
}

/// How a pageview goal (or funnel step) matches `path` (api.md §7.5).
public enum MatchType: String, Sendable, CaseIterable {
    case exact, contains, regex
}

/// A goal as the engine evaluates it (api.md §7.5): a row predicate (pageview / event goals) or
/// a session property (duration goals), plus the value each completion is worth.
public struct GoalDefinition: Sendable, Equatable {
    public var id: String
    public var name: String
    public var type: GoalType
    /// Pageview goals: the path, exact / substring / RE2 pattern per `matchType`.
    public var path: String?
    public var matchType: MatchType
    /// Event goals: `name` must equal `eventAction`; `category` / `label` must equal these when set.
    public var eventAction: String?
    public var eventCategory: String?
    public var eventLabel: String?
    /// Duration goals: seconds after the session's first event.
    public var durationSeconds: Int?
    /// Value of a completion (event goals: the event's non-zero `value` wins).
    public var value: Double

    public init(id: String, name: String, type: GoalType, path: String? = nil, matchType: MatchType = .exact,
                eventAction: String? = nil, eventCategory: String? = nil, eventLabel: String? = nil,
                durationSeconds: Int? = nil, value: Double = 0) {
        self.id = id; self.name = name; self.type = type; self.path = path; self.matchType = matchType
        self.eventAction = eventAction; self.eventCategory = eventCategory; self.eventLabel = eventLabel
        self.durationSeconds = durationSeconds; self.value = value
    }

    public static func == (a: GoalDefinition, b: GoalDefinition) -> Bool {
        a.id == b.id && a.name == b.name && a.type == b.type && a.path == b.path && a.matchType == b.matchType
            && a.eventAction == b.eventAction && a.eventCategory == b.eventCategory && a.eventLabel == b.eventLabel
            && a.durationSeconds == b.durationSeconds && a.value == b.value
    }
}

/// Funnel step kinds of api.md §7.6.
public enum FunnelStepType: String, Sendable, CaseIterable {
    case pageview, event, goal
}

/// One funnel step. A goal step carries its goal, resolved by whoever loads the funnel.
public struct FunnelStepDefinition: Sendable {
    public var name: String
    public var type: FunnelStepType
    public var path: String?
    public var matchType: MatchType
    public var eventAction: String?
    public var eventCategory: String?
    /// The goal of a `goal` step.
    public var goal: GoalDefinition?

    public init(name: String, type: FunnelStepType, path: String? = nil, matchType: MatchType = .exact,
                eventAction: String? = nil, eventCategory: String? = nil, goal: GoalDefinition? = nil) {
        self.name = name; self.type = type; self.path = path; self.matchType = matchType
        self.eventAction = eventAction; self.eventCategory = eventCategory; self.goal = goal
    }

    /// The step as a goal of its kind ("steps match like goals of their kind", api.md §7.6).
    public var asGoal: GoalDefinition? {
        switch type {
        case .pageview: GoalDefinition(id: "", name: name, type: .pageview, path: path, matchType: matchType)
        case .event: GoalDefinition(id: "", name: name, type: .event, eventAction: eventAction, eventCategory: eventCategory)
        case .goal: goal
        }
    }
}

/// A funnel (api.md §7.6): 2–10 steps in strict order within `timeWindow` seconds of step 1.
public struct FunnelDefinition: Sendable {
    public var id: String
    public var name: String
    public var steps: [FunnelStepDefinition]
    /// Seconds.
    public var timeWindow: Int

    public init(id: String, name: String, steps: [FunnelStepDefinition], timeWindow: Int = 3600) {
        self.id = id; self.name = name; self.steps = steps; self.timeWindow = timeWindow
    }
}

/// A path predicate: exact, substring or RE2 (unanchored, case-sensitive).
public struct PathMatcher: Sendable {
    enum Kind: Sendable { case exact([UInt8]), contains([UInt8]), regex(RE2Regex) }
    let kind: Kind

    /// Throws 400 `Invalid regular expression` for a pattern RE2 rejects.
    public init(path: String, matchType: MatchType) throws(QueryError) {
        switch matchType {
        case .exact: kind = .exact(Array(path.utf8))
        case .contains: kind = .contains(Array(path.utf8))
        case .regex: kind = .regex(try RE2Regex(path))
        }
    }

    public func matches(_ s: String) -> Bool {
        switch kind {
        case .exact(let p): return s.utf8.elementsEqual(p)
        case .contains(let p):
            if p.isEmpty { return true }
            let u = Array(s.utf8)
            if u.count < p.count { return false }
            for i in 0...(u.count - p.count) where u[i] == p[0] {
                var ok = true
                for j in 1..<p.count where u[i + j] != p[j] { ok = false; break }
                if ok { return true }
            }
            return false
        case .regex(let r): return r.matches(s)
        }
    }
}

/// A goal's row predicate, for one event at a time (e.g. at track time, to notice a goal's
/// first completion in a session). Duration goals are session properties: `matchesRow` is
/// false for them; `durationMs` says how far after the session's first event they complete.
public struct GoalMatcher: Sendable {
    public let goal: GoalDefinition
    let path: PathMatcher?

    /// Throws 400 `Invalid regular expression` for a regex goal RE2 would reject.
    public init(_ goal: GoalDefinition) throws(QueryError) {
        self.goal = goal
        if goal.type == .pageview { path = try PathMatcher(path: goal.path ?? "", matchType: goal.matchType) } else { path = nil }
    }

    /// Duration goals: the session length (ms) at which they complete; nil for other kinds.
    public var durationMs: Int64? {
        goal.type == .duration ? Int64(goal.durationSeconds ?? 0) * 1000 : nil
    }

    /// Whether this event is a completion event of a pageview or event goal.
    public func matchesRow(type: EventType, path p: String, name: String, category: String, label: String) -> Bool {
        switch goal.type {
        case .pageview: return type == .pageview && (path?.matches(p) ?? false)
        case .event: return type == .event && matchesEvent(name: name, category: category, label: label)
        case .duration: return false
        }
    }

    func matchesEvent(name: String, category: String, label: String) -> Bool {
        guard let action = goal.eventAction, name == action else { return false }
        if let c = goal.eventCategory, !c.isEmpty, c != category { return false }
        if let l = goal.eventLabel, !l.isEmpty, l != label { return false }
        return true
    }

    /// The value of a completion by an event carrying `eventValue` (api.md §7.5).
    public func completionValue(eventValue: Double) -> Double {
        goal.type == .event && eventValue != 0 ? eventValue : goal.value
    }
}

extension TimeWindow {
    /// A fixed window `[from, to)` in ms (e.g. an alert's `[now − period, now)`), reported as
    /// period `custom` without calendar bounds.
    public init(from: Int64, to: Int64, timeZone: SiteTimeZone, period: String = "custom") {
        self.init(from: from, to: to, period: period, timeZone: timeZone, customFrom: nil, customTo: nil)
    }
}
