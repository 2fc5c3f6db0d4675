import ZTAFormat
import ZTAStorage

/// Rows of a scan in export order — `ts` ascending, ties by a comparator — without holding the
/// window in memory.
///
/// Blocks are loaded in `minTs` order, a small wave at a time. After each wave, every pending
/// row with `ts` below the next unloaded block's `minTs` is final: no block still to come can
/// hold an earlier row (nor an equal one, so ties across blocks sort together). Those rows go
/// out in order and their chunks are released. What is held at once is the rows of the blocks
/// that overlap in time at the frontier — a few blocks for segments (each segment is sorted by
/// `ts`), plus memtable chunks while the frontier is inside their span — never the window.
/// The consumer can stop at any row (an export page ends), which ends the scan there.
struct ExportMerge {
    /// (chunk a, row i) before (chunk b, row j) when negative, for rows of equal `ts`.
    typealias Compare = (ColumnChunk, Int, ColumnChunk, Int) -> Int

    let tasks: [ChunkTask]
    let window: TimeWindow
    /// Only rows of this event type, when set.
    let type: UInt8?
    let threads: Int
    let compare: Compare
    /// Rows decoded per wave (bounds the decode buffer; tests make it small).
    var waveRows = 262_144

    init(tasks: [ChunkTask], window: TimeWindow, type: UInt8?, threads: Int, compare: @escaping Compare) {
        self.tasks = tasks
        self.window = window
        self.type = type
        self.threads = threads
        self.compare = compare
    }

    private struct Ref { var ts: Int64; var chunk: Int; var row: UInt32 }
    private struct Stop: Error {}

    /// Calls `emit` for each row in order until it returns false or the rows run out.
    func run(_ emit: (ColumnChunk, Int) throws -> Bool) throws {
        let ordered = tasks.enumerated().sorted { ($0.element.minTs, $0.offset) < ($1.element.minTs, $1.offset) }.map(\.element)
        var chunks: [Int: ColumnChunk] = [:]
        var live: [Int: Int] = [:]  // chunk id → pending rows still pointing at it
        var pending: [Ref] = []
        var nextId = 0
        var loaded = 0
        let from = window.from, to = window.to
        var scanner = WaveScanner(threads: threads)
        scanner.waveRows = waveRows
        do {
            try scanner.run(ordered, prepare: { $0 }) { wave in
                for c in wave {
                    let id = nextId
                    nextId += 1
                    var n = 0
                    for i in 0..<c.count {
                        let t = c.ts[i]
                        guard t >= from && t < to else { continue }
                        if let type, c.type[i] != type { continue }
                        pending.append(Ref(ts: t, chunk: id, row: UInt32(i)))
                        n += 1
                    }
                    if n > 0 { chunks[id] = c; live[id] = n }
                }
                loaded += wave.count
                let frontier = loaded < ordered.count ? ordered[loaded].minTs : Int64.max
                pending.sort { a, b in
                    if a.ts != b.ts { return a.ts < b.ts }
                    guard let ca = chunks[a.chunk], let cb = chunks[b.chunk] else { return a.chunk < b.chunk }
                    let d = compare(ca, Int(a.row), cb, Int(b.row))
                    return d != 0 ? d < 0 : (a.chunk, a.row) < (b.chunk, b.row)
                }
                var done = 0
                while done < pending.count && pending[done].ts < frontier {
                    let ref = pending[done]
                    done += 1
                    guard let c = chunks[ref.chunk] else { continue }
                    if try !emit(c, Int(ref.row)) { throw Stop() }
                    let left = (live[ref.chunk] ?? 1) - 1
                    if left == 0 { chunks[ref.chunk] = nil; live[ref.chunk] = nil } else { live[ref.chunk] = left }
                }
                pending.removeFirst(done)
            }
        } catch is Stop {
            return
        }
    }
}
