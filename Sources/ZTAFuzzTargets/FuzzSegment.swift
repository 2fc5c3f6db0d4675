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
                }
                expectFormatErrors { _ = try reader.decodeBlock(i, columns: ColumnSet([.visitor, .session]), idsAsCodes: true) }
            }
            FuzzCheck.require(rows == reader.rowCount, "blocks hold \(rows) rows, segment \(reader.rowCount)")
            for c in StringColumns.all { expectFormatErrors { _ = try reader.dictionary(c) } }
            expectFormatErrors { try reader.verify() }
        }
    }
}

/// Runs `body`; a thrown `FormatError` is an accepted outcome, any other error a broken invariant.
private func expectFormatErrors(_ body: () throws -> Void) {
    do { try body() } catch is FormatError {} catch { FuzzCheck.fail("non-FormatError thrown: \(error)") }
}
