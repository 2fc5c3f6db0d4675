extension SegmentReader {
    /// A human-readable summary for `ztas inspect`: segment facts, then per column the encodings
    /// used (with block counts), stored bytes, encoded bytes before LZ4, the plain size (rows ×
    /// natural width), the compression ratio plain/stored (dictionary included) and stored
    /// bytes/row, then one line per block.
    public func describe() -> String {
        var lines: [String] = []
        let total = bytes.count
        lines.append("segment \(file.isEmpty ? "(memory)" : file): format v\(formatVersion), site \(site)")
        lines.append("rows \(rowCount), blocks \(blockCount), ts \(minTs)...\(maxTs), \(total) bytes"
            + (rowCount > 0 ? " (\(format2(Double(total) / Double(rowCount))) bytes/row)" : ""))
        lines.append(pad("column", 14) + "  " + pad("encodings", 30, left: true) + pad("stored", 11) + pad("encoded", 11)
            + pad("plain", 11) + pad("ratio", 8) + pad("B/row", 8) + "  dict")
        var storedSum = 0
        for c in Column.allCases {
            var encodings: [String: Int] = [:]
            var stored = 0, raw = 0
            for b in footer.blocks {
                let m = b.columns[Int(c.rawValue)]
                encodings[m.encoding.name + (m.compressed ? "+lz4" : ""), default: 0] += 1
                stored += m.storedLength
                raw += m.rawLength
            }
            var dictBytes = 0
            var dictInfo = ""
            if let k = c.stringIndex {
                let d = footer.dictionaries[k]
                dictBytes = d.storedLength
                dictInfo = "\(d.count)v/\(d.storedLength)B"
            }
            storedSum += stored + dictBytes
            let enc = encodings.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
            let plain = rowCount * c.kind.byteWidth
            let ratio = stored + dictBytes > 0 ? format2(Double(plain) / Double(stored + dictBytes)) : "-"
            let perRow = rowCount > 0 ? format2(Double(stored + dictBytes) / Double(rowCount)) : "-"
            lines.append(pad(c.wireName, 14) + "  " + pad(enc, 30, left: true) + pad("\(stored)", 11) + pad("\(raw)", 11)
                + pad("\(plain)", 11) + pad(ratio, 8) + pad(perRow, 8) + "  " + dictInfo)
        }
        let overhead = total - storedSum
        lines.append("header+footer+trailer \(overhead) bytes" + (rowCount > 0 ? " (\(format2(Double(overhead) / Double(rowCount))) B/row)" : ""))
        for (i, b) in footer.blocks.enumerated() {
            lines.append("block \(i): offset \(b.offset), \(b.length) bytes, \(b.rowCount) rows, ts \(b.columns[0].min)...\(b.columns[0].max)")
        }
        return lines.joined(separator: "\n")
    }
}

private func format2(_ v: Double) -> String {
    let scaled = (v * 100).rounded()
    let whole = Int(scaled) / 100, frac = abs(Int(scaled)) % 100
    return "\(whole).\(frac < 10 ? "0" : "")\(frac)"
}

private func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(1, width - s.count))
    return left ? s + fill : fill + s
}
