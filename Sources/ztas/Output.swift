#if canImport(Glibc)
import Glibc
#endif

/// Writes bytes to stdout unbuffered by Swift's `print`.
func writeStdout(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buf in
        var off = 0
        while off < buf.count {
            let n = write(1, buf.baseAddress! + off, buf.count - off)
            if n <= 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }
}

func writeStdout(_ s: String) { writeStdout(Array(s.utf8)) }

func writeStderr(_ s: String) {
    let bytes = Array(s.utf8)
    bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
}

var stderrIsTerminal: Bool { isatty(2) != 0 }

/// Minimal JSON string escaping for CLI output.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

/// Prints a progress line on a terminal: `label  done/total  rate/s`.
struct ProgressBar {
    let label: String
    let enabled = stderrIsTerminal
    private var last: Double = 0
    private let start = monotonicSeconds()

    init(label: String) { self.label = label }

    mutating func update(done: Int, total: Int?, unit: String) {
        guard enabled else { return }
        let now = monotonicSeconds()
        if now - last < 0.2 { return }
        last = now
        let rate = Double(done) / max(now - start, 1e-9)
        var line = "\r\(label) \(done) \(unit)"
        if let total, total > 0 {
            let frac = min(1, Double(done) / Double(total))
            let width = 30
            let filled = Int(frac * Double(width))
            line += " [" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] \(Int(frac * 100))%"
        }
        line += "  \(Int(rate)) \(unit)/s   "
        writeStderr(line)
    }

    func finish() { if enabled { writeStderr("\n") } }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
