/// A regular expression in RE2 syntax, matched in linear time (a Thompson NFA run as a Pike VM
/// without captures): a goal's `regex` comes from a user and runs over every distinct path, so a
/// backtracking matcher (ICU's `NSRegularExpression`) could be made to take exponential time.
///
/// Semantics follow RE2 for what a goal needs: unanchored search, case-sensitive by default,
/// matching Unicode scalars; `.` excludes `\n` unless `(?s)`; `^`/`$` are text anchors unless
/// `(?m)`. Accepted: literals, `.`, classes `[…]` (ranges, negation, `[:alpha:]`-style names,
/// `\d\w\s` inside), `\d \D \w \W \s \S \b \B \A \z`, `\Q…\E`, escapes `\n \t \r \f \v \a
/// \xHH \x{H…} \0oo`, escaped punctuation, groups `(…)`, `(?:…)`, `(?P<n>…)`, `(?<n>…)`,
/// flags `(?imsU-imsU)` and `(?flags:…)`, `|`, `* + ?` and `{n}`, `{n,}`, `{n,m}` (n, m ≤ 1000),
/// each optionally lazy. Rejected like RE2 rejects them: backreferences, lookaround,
/// possessive/double quantifiers (`a**`, `a*+`), counts above 1000, unbalanced parentheses,
/// bad escapes and ranges, and programs too large to run in bounded memory. Not supported
/// (rejected although RE2 accepts them): Unicode classes `\p{…}`, `\C`.
public struct RE2Regex: Sendable {
    /// The pattern as given.
    public let pattern: String
    let program: [RegexInst]
    let classes: [[ClosedRange<UInt32>]]

    /// Compiled program size bound (RE2 rejects large programs too; this bounds per-match memory).
    static let maxInstructions = 20_000

    /// Parses and compiles; throws 400 `Invalid regular expression` for anything RE2 rejects.
    public init(_ pattern: String) throws(QueryError) {
        self.pattern = pattern
        var p = RegexParser(Array(pattern.unicodeScalars.map(\.value)))
        guard let node = p.parseAll() else { throw QueryError("Invalid regular expression") }
        var c = RegexCompiler()
        guard c.compile(node), c.insts.count < Self.maxInstructions else { throw QueryError("Invalid regular expression") }
        c.insts.append(RegexInst(op: .match))
        program = c.insts
        classes = c.classes
    }

    /// Whether `s` contains a match (unanchored search).
    public func matches(_ s: String) -> Bool {
        let text = Array(s.unicodeScalars.map(\.value))
        return matches(scalars: text)
    }

    /// The Pike VM: two thread lists over program counters, each instruction at most once per
    /// position, so time is O(text × program) and memory O(program).
    func matches(scalars text: [UInt32]) -> Bool { search(text).matched }

    /// The search, also counting VM steps (instructions visited), which tests use to check
    /// that work stays within text length × program size.
    func search(_ text: [UInt32]) -> (matched: Bool, steps: Int) {
        var steps = 0
        let n = program.count
        var cur = [Int32](), next = [Int32]()
        cur.reserveCapacity(n); next.reserveCapacity(n)
        // `mark[pc] == gen` ⇔ pc already added at this position.
        var mark = [UInt32](repeating: 0, count: n)
        var gen: UInt32 = 0
        var stack = [Int32]()
        stack.reserveCapacity(n)

        /// Adds the ε-closure of `start` at position `i` to `list`; true when it reaches `match`.
        func add(_ start: Int32, _ i: Int, _ list: inout [Int32]) -> Bool {
            stack.append(start)
            while let pc32 = stack.popLast() {
                let pc = Int(pc32)
                steps &+= 1
                if mark[pc] == gen { continue }
                mark[pc] = gen
                let ins = program[pc]
                switch ins.op {
                case .match:
                    stack.removeAll(keepingCapacity: true)
                    return true
                case .jmp: stack.append(ins.x)
                case .split: stack.append(ins.y); stack.append(ins.x)
                case .assert:
                    if assertHolds(RegexAssert(rawValue: UInt8(ins.x)) ?? .beginText, text, i) { stack.append(pc32 + 1) }
                case .cls, .any, .anyNL: list.append(pc32)
                }
            }
            return false
        }

        gen = 1
        var i = 0
        while true {
            // `cur` holds the consuming threads at position i; marks of generation `gen` are i's.
            // Unanchored search: a new thread starts at every position.
            if add(0, i, &cur) { return (true, steps) }
            if i >= text.count || cur.isEmpty && program.first?.op == .assert && program.first?.x == Int32(RegexAssert.beginText.rawValue) { return (false, steps) }
            let c = text[i]
            gen &+= 1
            if gen == 0 { for k in 0..<n { mark[k] = 0 }; gen = 1 }
            next.removeAll(keepingCapacity: true)
            for pc32 in cur {
                let ins = program[Int(pc32)]
                let ok: Bool
                switch ins.op {
                case .anyNL: ok = true
                case .any: ok = c != 10
                case .cls: ok = Self.inClass(classes[Int(ins.x)], c)
                default: ok = false
                }
                if ok, add(pc32 + 1, i + 1, &next) { return (true, steps) }
            }
            swap(&cur, &next)
            i += 1
        }
    }

    @inline(__always)
    static func inClass(_ ranges: [ClosedRange<UInt32>], _ c: UInt32) -> Bool {
        // Ranges are sorted and disjoint: binary search.
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let r = ranges[mid]
            if c < r.lowerBound { hi = mid } else if c > r.upperBound { lo = mid + 1 } else { return true }
        }
        return false
    }

    static func isWord(_ c: UInt32) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95
    }

    func assertHolds(_ a: RegexAssert, _ t: [UInt32], _ i: Int) -> Bool {
        switch a {
        case .beginText: return i == 0
        case .endText: return i == t.count
        case .beginLine: return i == 0 || t[i - 1] == 10
        case .endLine: return i == t.count || t[i] == 10
        case .wordBoundary, .notWordBoundary:
            let before = i > 0 && Self.isWord(t[i - 1])
            let after = i < t.count && Self.isWord(t[i])
            return (before != after) == (a == .wordBoundary)
        }
    }
}

enum RegexAssert: UInt8 { case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary }

struct RegexInst: Sendable {
    enum Op: UInt8, Sendable { case cls, any, anyNL, split, jmp, assert, match }
    var op: Op
    var x: Int32 = 0
    var y: Int32 = 0
}

/// The parsed form of a pattern.
indirect enum RegexNode {
    case empty
    case cls([ClosedRange<UInt32>])
    case any(dotNL: Bool)
    case assert(RegexAssert)
    case concat([RegexNode])
    case alt([RegexNode])
    /// max -1 = unbounded.
    case rep(RegexNode, min: Int, max: Int)
}

/// Recursive-descent parser of RE2 syntax over Unicode scalar values.
struct RegexParser {
    let s: [UInt32]
    var i = 0
    var depth = 0
    struct Flags { var i = false, m = false, s = false }
    var flags = Flags()

    init(_ s: [UInt32]) { self.s = s }

    static let maxRepeat = 1000
    static let maxScalar: UInt32 = 0x10FFFF

    mutating func parseAll() -> RegexNode? {
        guard let n = parseAlt() else { return nil }
        return i == s.count ? n : nil  // a stray `)`
    }

    func peek(_ k: Int = 0) -> UInt32? { i + k < s.count ? s[i + k] : nil }
    static func ch(_ c: Character) -> UInt32 { c.unicodeScalars.first?.value ?? 0 }

    mutating func parseAlt() -> RegexNode? {
        var alts: [RegexNode] = []
        guard let first = parseConcat() else { return nil }
        alts.append(first)
        while peek() == Self.ch("|") {
            i += 1
            guard let n = parseConcat() else { return nil }
            alts.append(n)
        }
        return alts.count == 1 ? alts[0] : .alt(alts)
    }

    mutating func parseConcat() -> RegexNode? {
        var items: [RegexNode] = []
        while let c = peek(), c != Self.ch("|"), c != Self.ch(")") {
            // Flag groups change the flags of the rest of the enclosing group and yield nothing.
            guard let atom = parseAtom() else { return nil }
            guard let node = atom.node else { continue }
            guard let rep = parseRepeats(node) else { return nil }
            items.append(rep)
        }
        return items.isEmpty ? .empty : (items.count == 1 ? items[0] : .concat(items))
    }

    /// Quantifiers after an atom; a second quantifier (`a**`, `a*+`) is an error as in RE2.
    mutating func parseRepeats(_ node: RegexNode) -> RegexNode? {
        guard let c = peek() else { return node }
        var min = 0, max = -1
        if c == Self.ch("*") { i += 1 }
        else if c == Self.ch("+") { min = 1; i += 1 }
        else if c == Self.ch("?") { max = 1; i += 1 }
        else if c == Self.ch("{"), let (lo, hi, len) = braceRepeat() {
            if lo > Self.maxRepeat || hi > Self.maxRepeat || (hi >= 0 && hi < lo) { return nil }
            min = lo; max = hi; i += len
        } else { return node }
        if peek() == Self.ch("?") { i += 1 }  // lazy: same set of matches
        if let d = peek(), d == Self.ch("*") || d == Self.ch("+") || d == Self.ch("?") { return nil }
        if peek() == Self.ch("{"), braceRepeat() != nil { return nil }
        return .rep(node, min: min, max: max)
    }

    /// `{n}`, `{n,}`, `{n,m}` at `i`: (n, m or -1, length); nil when not a repeat (then `{` is a literal).
    func braceRepeat() -> (Int, Int, Int)? {
        var k = i + 1
        func num() -> Int? {
            let start = k
            var v = 0
            while k < s.count, s[k] >= 48, s[k] <= 57 {
                v = Swift.min(v * 10 + Int(s[k] - 48), 100_000)
                k += 1
            }
            return k > start ? v : nil
        }
        guard let lo = num() else { return nil }
        var hi = lo
        if k < s.count, s[k] == Self.ch(",") {
            k += 1
            hi = num() ?? -1
        }
        guard k < s.count, s[k] == Self.ch("}") else { return nil }
        return (lo, hi, k + 1 - i)
    }

    /// One atom; `node == nil` for a flag-only group.
    mutating func parseAtom() -> (node: RegexNode?, Void)? {
        guard let c = peek() else { return nil }
        switch c {
        case Self.ch("*"), Self.ch("+"), Self.ch("?"):
            return nil  // missing argument to repetition operator
        case Self.ch("{"):
            if braceRepeat() != nil { return nil }
            i += 1
            return (literal(c), ())
        case Self.ch("("):
            return parseGroup()
        case Self.ch("["):
            guard let ranges = parseClass() else { return nil }
            return (.cls(ranges), ())
        case Self.ch("."):
            i += 1
            return (.any(dotNL: flags.s), ())
        case Self.ch("^"):
            i += 1
            return (.assert(flags.m ? .beginLine : .beginText), ())
        case Self.ch("$"):
            i += 1
            return (.assert(flags.m ? .endLine : .endText), ())
        case Self.ch("\\"):
            return parseEscapeAtom()
        default:
            i += 1
            return (literal(c), ())
        }
    }

    mutating func parseGroup() -> (node: RegexNode?, Void)? {
        i += 1  // (
        depth += 1
        defer { depth -= 1 }
        // Nesting bounds the recursion of parser and compiler (a few frames per level).
        if depth > 100 { return nil }
        let saved = flags
        if peek() == Self.ch("?") {
            i += 1
            guard let c = peek() else { return nil }
            if c == Self.ch("P") || c == Self.ch("<") {
                // (?P<name>…) or (?<name>…); (?P=name) backreferences and lookbehind are errors.
                if c == Self.ch("P") { i += 1; guard peek() == Self.ch("<") else { return nil } }
                i += 1
                let start = i
                while let d = peek(), d != Self.ch(">") {
                    guard RE2Regex.isWord(d) else { return nil }
                    i += 1
                }
                guard peek() == Self.ch(">"), i > start else { return nil }
                i += 1
            } else if c == Self.ch(":") {
                i += 1
            } else {
                // Flags: (?imsU-imsU) or (?imsU-imsU:…).
                var negate = false, sawFlag = false
                var f = flags
                while true {
                    guard let d = peek() else { return nil }
                    i += 1
                    switch d {
                    case Self.ch("i"): f.i = !negate; sawFlag = true
                    case Self.ch("m"): f.m = !negate; sawFlag = true
                    case Self.ch("s"): f.s = !negate; sawFlag = true
                    case Self.ch("U"): sawFlag = true
                    case Self.ch("-"):
                        if negate { return nil }
                        negate = true; sawFlag = false
                    case Self.ch(")"):
                        if !sawFlag { return nil }  // (?) (?-) (?i-)
                        flags = f
                        return (nil, ())
                    case Self.ch(":"):
                        if !sawFlag { return nil }
                        flags = f
                        guard let inner = parseAlt(), peek() == Self.ch(")") else { return nil }
                        i += 1
                        flags = saved
                        return (inner, ())
                    default:
                        return nil  // lookaround (?= (?! and unknown flags
                    }
                }
            }
        }
        guard let inner = parseAlt(), peek() == Self.ch(")") else { return nil }
        i += 1
        flags = saved
        return (inner, ())
    }

    func literal(_ c: UInt32) -> RegexNode {
        .cls(flags.i ? Self.fold([c...c]) : [c...c])
    }

    mutating func parseEscapeAtom() -> (node: RegexNode?, Void)? {
        i += 1
        guard let c = peek() else { return nil }
        switch c {
        case Self.ch("A"): i += 1; return (.assert(.beginText), ())
        case Self.ch("z"): i += 1; return (.assert(.endText), ())
        case Self.ch("b"): i += 1; return (.assert(.wordBoundary), ())
        case Self.ch("B"): i += 1; return (.assert(.notWordBoundary), ())
        case Self.ch("Q"):
            i += 1
            var items: [RegexNode] = []
            while let d = peek() {
                if d == Self.ch("\\"), peek(1) == Self.ch("E") { i += 2; break }
                if d == Self.ch("\\"), peek(1) == Self.ch("\\") { i += 1 }
                items.append(literal(s[i])); i += 1
            }
            return (items.isEmpty ? .empty : .concat(items), ())
        default:
            guard let r = parseEscapeClass(inClass: false) else { return nil }
            return (.cls(flags.i ? Self.fold(r) : r), ())
        }
    }

    /// An escape that denotes a set of scalars (`i` just after the backslash).
    mutating func parseEscapeClass(inClass: Bool) -> [ClosedRange<UInt32>]? {
        guard let c = peek() else { return nil }
        i += 1
        if let perl = Self.perlClass(c) { return perl }
        switch c {
        case Self.ch("n"): return [10...10]
        case Self.ch("t"): return [9...9]
        case Self.ch("r"): return [13...13]
        case Self.ch("f"): return [12...12]
        case Self.ch("v"): return [11...11]
        case Self.ch("a"): return [7...7]
        case Self.ch("0"):
            // Octal \0, \0o, \0oo.
            var v: UInt32 = 0, k = 0
            while k < 2, let d = peek(), d >= 48, d <= 55 { v = v * 8 + (d - 48); i += 1; k += 1 }
            return [v...v]
        case Self.ch("x"):
            if peek() == Self.ch("{") {
                i += 1
                var v: UInt32 = 0, k = 0
                while let d = peek(), let h = Self.hex(d) {
                    v = v * 16 + h; k += 1; i += 1
                    if v > Self.maxScalar { return nil }
                }
                guard k > 0, peek() == Self.ch("}") else { return nil }
                i += 1
                return [v...v]
            }
            guard let a = peek().flatMap(Self.hex), let b = peek(1).flatMap(Self.hex) else { return nil }
            i += 2
            let v = a * 16 + b
            return [v...v]
        default:
            // Only punctuation may be escaped (RE2: "invalid escape sequence" otherwise).
            if c < 128, !RE2Regex.isWord(c), c > 32 { return [c...c] }
            return nil
        }
    }

    static func hex(_ c: UInt32) -> UInt32? {
        if c >= 48 && c <= 57 { return c - 48 }
        if c >= 97 && c <= 102 { return c - 87 }
        if c >= 65 && c <= 70 { return c - 55 }
        return nil
    }

    static func perlClass(_ c: UInt32) -> [ClosedRange<UInt32>]? {
        let digit: [ClosedRange<UInt32>] = [48...57]
        let word: [ClosedRange<UInt32>] = [48...57, 65...90, 95...95, 97...122]
        let space: [ClosedRange<UInt32>] = [9...10, 12...13, 32...32]
        switch c {
        case ch("d"): return digit
        case ch("D"): return negate(digit)
        case ch("w"): return word
        case ch("W"): return negate(word)
        case ch("s"): return space
        case ch("S"): return negate(space)
        default: return nil
        }
    }

    static let posixClasses: [String: [ClosedRange<UInt32>]] = [
        "alnum": [48...57, 65...90, 97...122], "alpha": [65...90, 97...122], "ascii": [0...127],
        "blank": [9...9, 32...32], "cntrl": [0...31, 127...127], "digit": [48...57],
        "graph": [33...126], "lower": [97...122], "print": [32...126],
        "punct": [33...47, 58...64, 91...96, 123...126], "space": [9...13, 32...32],
        "upper": [65...90], "word": [48...57, 65...90, 95...95, 97...122], "xdigit": [48...57, 65...70, 97...102],
    ]

    /// `[…]` at `i`.
    mutating func parseClass() -> [ClosedRange<UInt32>]? {
        i += 1
        var negated = false
        if peek() == Self.ch("^") { negated = true; i += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard let c = peek() else { return nil }  // missing ]
            if c == Self.ch("]") && !first { i += 1; break }
            first = false
            // [:name:] and [:^name:]
            if c == Self.ch("["), peek(1) == Self.ch(":") {
                var k = i + 2
                var neg = false
                if k < s.count, s[k] == Self.ch("^") { neg = true; k += 1 }
                var name = ""
                while k < s.count, s[k] != Self.ch(":") , let u = Unicode.Scalar(s[k]) { name.unicodeScalars.append(u); k += 1 }
                if k + 1 < s.count, s[k] == Self.ch(":"), s[k + 1] == Self.ch("]") {
                    guard let r = Self.posixClasses[name] else { return nil }
                    ranges += neg ? Self.negate(r) : r
                    i = k + 2
                    continue
                }
            }
            guard let lo = classAtom() else { return nil }
            if lo.count == 1, lo[0].lowerBound == lo[0].upperBound, peek() == Self.ch("-"), let nx = peek(1), nx != Self.ch("]") {
                i += 1
                guard let hi = classAtom(), hi.count == 1, hi[0].lowerBound == hi[0].upperBound else { return nil }
                guard lo[0].lowerBound <= hi[0].lowerBound else { return nil }  // bad range
                ranges.append(lo[0].lowerBound...hi[0].lowerBound)
            } else {
                ranges += lo
            }
        }
        var r = Self.normalize(ranges)
        if flags.i { r = Self.fold(r) }
        return negated ? Self.negate(r) : r
    }

    /// One element of a class: a scalar or an escape (which may be a Perl class).
    mutating func classAtom() -> [ClosedRange<UInt32>]? {
        guard let c = peek() else { return nil }
        if c == Self.ch("\\") {
            i += 1
            guard let n = peek() else { return nil }
            if n == Self.ch("b") { i += 1; return [8...8] }  // backspace inside a class
            return parseEscapeClass(inClass: true)
        }
        i += 1
        return [c...c]
    }

    static func normalize(_ r: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        let sorted = r.sorted { $0.lowerBound < $1.lowerBound }
        var out: [ClosedRange<UInt32>] = []
        for x in sorted {
            if let last = out.last, x.lowerBound <= last.upperBound &+ 1 {
                out[out.count - 1] = last.lowerBound...Swift.max(last.upperBound, x.upperBound)
            } else {
                out.append(x)
            }
        }
        return out
    }

    static func negate(_ r: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        let n = normalize(r)
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for x in n {
            if x.lowerBound > next { out.append(next...(x.lowerBound - 1)) }
            next = x.upperBound &+ 1
            if x.upperBound >= maxScalar { return out }
        }
        if next <= maxScalar { out.append(next...maxScalar) }
        return out
    }

    /// Adds the other case of every letter (simple case folding; ranges of more than 2000
    /// scalars are folded for their ASCII part only, which keeps compilation bounded).
    static func fold(_ r: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out = r
        for x in r {
            if x.count > 2000 {
                let lo = Swift.max(x.lowerBound, 65), hi = Swift.min(x.upperBound, 122)
                if lo <= hi { for c in lo...hi { out += other(c) } }
                continue
            }
            for c in x { out += other(c) }
        }
        return normalize(out)
    }

    static func other(_ c: UInt32) -> [ClosedRange<UInt32>] {
        if c >= 65 && c <= 90 { return [(c + 32)...(c + 32)] }
        if c >= 97 && c <= 122 { return [(c - 32)...(c - 32)] }
        if c < 128 { return [] }
        guard let u = Unicode.Scalar(c) else { return [] }
        var res: [ClosedRange<UInt32>] = []
        for m in [u.properties.lowercaseMapping, u.properties.uppercaseMapping] {
            let sc = Array(m.unicodeScalars)
            if sc.count == 1, sc[0].value != c { res.append(sc[0].value...sc[0].value) }
        }
        return res
    }
}

/// Thompson construction of the parsed tree into Pike VM instructions.
struct RegexCompiler {
    var insts: [RegexInst] = []
    var classes: [[ClosedRange<UInt32>]] = []

    /// False once the program grows past the bound (compilation stops early).
    mutating func compile(_ n: RegexNode) -> Bool {
        if insts.count >= RE2Regex.maxInstructions { return false }
        switch n {
        case .empty: return true
        case .cls(let r):
            classes.append(r)
            insts.append(RegexInst(op: .cls, x: Int32(classes.count - 1)))
        case .any(let nl):
            insts.append(RegexInst(op: nl ? .anyNL : .any))
        case .assert(let a):
            insts.append(RegexInst(op: .assert, x: Int32(a.rawValue)))
        case .concat(let items):
            for x in items where !compile(x) { return false }
        case .alt(let alts):
            // split L1, next; L1: a; jmp end; next: split L2, … ; last alternative plain.
            var jumps: [Int] = []
            for (k, a) in alts.enumerated() {
                if k < alts.count - 1 {
                    let sp = insts.count
                    insts.append(RegexInst(op: .split, x: Int32(sp + 1)))
                    if !compile(a) { return false }
                    jumps.append(insts.count)
                    insts.append(RegexInst(op: .jmp))
                    insts[sp].y = Int32(insts.count)
                } else {
                    if !compile(a) { return false }
                }
            }
            for j in jumps { insts[j].x = Int32(insts.count) }
        case .rep(let body, let min, let max):
            for _ in 0..<min where !compile(body) { return false }
            if max < 0 {
                // L: split body, out; body; jmp L
                let l = insts.count
                insts.append(RegexInst(op: .split, x: Int32(l + 1)))
                if !compile(body) { return false }
                insts.append(RegexInst(op: .jmp, x: Int32(l)))
                insts[l].y = Int32(insts.count)
            } else if max > min {
                var splits: [Int] = []
                for _ in min..<max {
                    let sp = insts.count
                    splits.append(sp)
                    insts.append(RegexInst(op: .split, x: Int32(sp + 1)))
                    if !compile(body) { return false }
                }
                for sp in splits { insts[sp].y = Int32(insts.count) }
            }
        }
        return insts.count < RE2Regex.maxInstructions
    }
}
