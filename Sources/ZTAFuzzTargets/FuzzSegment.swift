import ZTAFormat

/// Segment images: input = the file's bytes. Read once as the storage layer does (every
/// checksum checked) and once with checksums taken as matching, so that mutations reach the
/// structural checks behind them. Every failure must be a `FormatError`; a segment that opens
/// decodes every block (values and id codes) and dictionary, and `verify` runs to the end.
func fuzzSegment(_ data: UnsafeRawBufferPointer) {
    // A private copy, as an mmap would be: aligned, and alive for the readers' lifetime.
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 16)
    defer { copy.deallocate() }
    if let base = data.baseAddress, data.count > 0 { copy.baseAddress?.copyMemory(from: base, byteCount: data.count) }
    let bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(copy)[0..<data.count])
    for checksums in [true, false] {
        expectFormatErrors {
            let reader = try SegmentReader(bytes: bytes, file: "fuzz.zseg", checksums: checksums)
            FuzzCheck.require(reader.rowCount >= 0 && reader.blockCount >= 0, "negative counts")
            var rows = 0
            for i in 0..<reader.blockCount {
                let stats = reader.blockStats(i)
                rows += stats.rowCount
                expectFormatErrors {
                    let chunk = try reader.decodeBlock(i, columns: .all)
                    FuzzCheck.require(chunk.count == stats.rowCount, "block \(i) decodes \(chunk.count) rows, footer says \(stats.rowCount)")
                    try checkLateDecode(reader, block: i, full: chunk)
                }
                expectFormatErrors { _ = try reader.decodeBlock(i, columns: ColumnSet([.visitor, .session]), idsAsCodes: true) }
            }
            FuzzCheck.require(rows == reader.rowCount, "blocks hold \(rows) rows, segment \(reader.rowCount)")
            for c in StringColumns.all { expectFormatErrors { _ = try reader.dictionary(c) } }
            expectFormatErrors { try reader.verify() }
        }
    }
}

/// Late materialization (heatmaps' path) must give the rows a full decode gives: `type` and
/// `path` decoded first, every third row picked, the other columns decoded at those rows only.
/// It may still throw a `FormatError` (it reads a chunk in a different way), never disagree.
private func checkLateDecode(_ reader: SegmentReader, block i: Int, full: ColumnChunk) throws {
    let pick = stride(from: 0, to: full.count, by: 3).map { Int32($0) }
    let late = ColumnSet([.ts, .visitor, .x, .y, .scrollDepth, .value, .element, .text, .referrer, .device])
    let chunk = try reader.decodeBlock(i, columns: .all, late: late, select: { _ in pick })
    FuzzCheck.require(chunk.count == pick.count, "late decode of block \(i): \(chunk.count) rows for \(pick.count) picked")
    func same<T: Equatable>(_ a: [T], _ b: [T], _ name: String) {
        guard !a.isEmpty || !b.isEmpty else { return }
        let expected = pick.map { b[Int($0)] }
        FuzzCheck.require(a == expected, "late decode of block \(i): \(name) differs from the full decode")
    }
    same(chunk.ts, full.ts, "ts")
    same(chunk.visitor, full.visitor, "visitor")
    same(chunk.x, full.x, "x")
    same(chunk.y, full.y, "y")
    same(chunk.scrollDepth, full.scrollDepth, "scroll_depth")
    same(chunk.value.map(\.bitPattern), full.value.map(\.bitPattern), "value")
    same(chunk.type, full.type, "type")
    for c in [Column.element, .text, .referrer, .device, .path] {
        guard let a = chunk.string(c), let b = full.string(c) else { continue }
        let got = a.codes.map { Int($0) < a.dictionary.values.count ? a.dictionary.values[Int($0)] : "\u{0}bad code" }
        let want = pick.map { r -> String in
            let code = Int(b.codes[Int(r)])
            return code < b.dictionary.values.count ? b.dictionary.values[code] : "\u{0}bad code"
        }
        FuzzCheck.require(got == want, "late decode of block \(i): \(c.wireName) differs from the full decode")
    }
}

/// Runs `body`; a thrown `FormatError` is an accepted outcome, any other error a broken invariant.
private func expectFormatErrors(_ body: () throws -> Void) {
    do { try body() } catch is FormatError {} catch { FuzzCheck.fail("non-FormatError thrown: \(error)") }
}
