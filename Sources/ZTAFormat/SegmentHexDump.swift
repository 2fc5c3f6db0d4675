/// An annotated hex dump of a segment image: every structure on its own lines, labelled.
/// Used by the golden test (Tests/ZTAFormatTests/Golden/) and handy when debugging the format.
///
/// Line format: `OFFSET: HH HH … # comment`, at most 16 bytes per line; lines starting with `#`
/// are section comments. Comments and whitespace carry no bytes.
enum SegmentHexDump {
    static func annotated(_ image: [UInt8]) throws -> String {
        var spans: [TraceSpan] = []
        try image.withUnsafeBytes { raw in
            var trace: [TraceSpan]? = []
            let (_, footer) = try SegmentReader.parse(raw, trace: &trace)
            spans = trace!
            for (b, block) in footer.blocks.enumerated() {
                for c in Column.allCases {
                    let m = block.columns[Int(c.rawValue)]
                    spans.append(TraceSpan(start: m.offset, length: m.storedLength,
                                           what: "block \(b) (\(block.rowCount) rows) \(c.wireName): \(m.encoding.name)\(m.compressed ? " + lz4" : ""), \(m.rawLength) raw bytes"))
                }
            }
            for d in footer.dictionaries {
                spans.append(TraceSpan(start: d.offset, length: d.storedLength,
                                       what: "dictionary \(d.column.wireName): \(d.count) values\(d.compressed ? ", lz4" : ""), \(d.rawLength) raw bytes"))
            }
        }
        spans.sort { $0.start < $1.start }
        var out = "# ztas segment, format v\(SegmentFormat.current.rawValue), \(image.count) bytes\n"
        var position = 0
        for s in spans where s.length > 0 {
            precondition(s.start == position, "dump spans must tile the image (gap at \(position))")
            var first = true
            var i = s.start
            while i < s.start + s.length {
                let end = min(i + 16, s.start + s.length)
                let hexBytes = image[i..<end].map { b -> String in
                    let h = String(b, radix: 16)
                    return h.count == 1 ? "0" + h : h
                }.joined(separator: " ")
                var offset = String(i, radix: 16)
                offset = String(repeating: "0", count: max(0, 6 - offset.count)) + offset
                let line = "\(offset): \(hexBytes)"
                out += first ? line.padding(toWidth: 57) + " # \(s.what)\n" : line + "\n"
                first = false
                i = end
            }
            position = s.start + s.length
        }
        precondition(position == image.count, "dump spans must cover the image")
        return out
    }

    /// The bytes of a dump: hex pairs after each `OFFSET:`, ignoring comments and whitespace.
    static func parse(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        for var line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            if let colon = line.firstIndex(of: ":") { line = line[line.index(after: colon)...] }
            for token in line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }) {
                guard token.count == 2, let b = UInt8(token, radix: 16) else { return nil }
                bytes.append(b)
            }
        }
        return bytes
    }
}

private extension String {
    func padding(toWidth w: Int) -> String { count >= w ? self : self + String(repeating: " ", count: w - count) }
}
