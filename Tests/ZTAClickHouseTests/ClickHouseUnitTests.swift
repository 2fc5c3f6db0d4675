import XCTest
import ZTAFormat
@testable import ZTAClickHouse
@testable import ZTAQuery

/// The parts of the ClickHouse store that need no server: addresses, literals, the
/// TabSeparated format and the compiled SQL's shape.
final class ClickHouseUnitTests: XCTestCase {
    func testParsesAddresses() throws {
        let c = try ClickHouseConfig.parse("clickhouse://db.example:9123/ztas",
                                           environment: ["ZTAS_CLICKHOUSE_USER": "u", "ZTAS_CLICKHOUSE_PASSWORD": "p"])
        XCTAssertEqual(c.endpoint, ClickHouseEndpoint(host: "db.example", port: 9123))
        XCTAssertEqual(c.database, "ztas")
        XCTAssertNil(c.cluster)
        XCTAssertEqual(c.user, "u")
        XCTAssertEqual(c.password, "p")
        let k = try ClickHouseConfig.parse("clickhouse://127.0.0.1:8123/events?cluster=ztas&shards=127.0.0.1:8123,127.0.0.1:8124")
        XCTAssertEqual(k.cluster, "ztas")
        XCTAssertEqual(k.shards.map(\.port), [8123, 8124])
        XCTAssertEqual(try ClickHouseConfig.parse("clickhouse://h/db").endpoint.port, 8123)
        for bad in ["http://h:8123/db", "clickhouse://h:8123", "clickhouse://h:0/db", "clickhouse://h:8123/1db",
                    "clickhouse://h:8123/d-b", "clickhouse://h:x/db", "clickhouse://h/db?shards=h:1", "clickhouse://h/db?foo=1",
                    "clickhouse://h/db?cluster=a;b"] {
            XCTAssertThrowsError(try ClickHouseConfig.parse(bad), bad)
        }
    }

    func testLiteralsEscapeEveryByteThatCouldEndThem() {
        XCTAssertEqual(SQL.literal("a'b\\c"), "'a\\'b\\\\c'")
        XCTAssertEqual(SQL.literal("x\ny\u{0}"), "'x\\x0Ay\\x00'")
        XCTAssertEqual(SQL.literal("é/ü"), "'é/ü'")
    }

    func testTabSeparatedRoundTrip() throws {
        var out: [UInt8] = []
        TabSeparated.appendField("a\tb\\c\nd", to: &out)
        out.append(9)
        TabSeparated.appendInt(Int64(-42), to: &out)
        out.append(10)
        let rows = try TabSeparated.parse(out)
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(String(decoding: rows[0][0], as: UTF8.self), "a\tb\\c\nd")
        XCTAssertEqual(try TabSeparated.int64(rows[0][1]), -42)
        XCTAssertThrowsError(try TabSeparated.int64(Array("12x".utf8)))
        XCTAssertThrowsError(try TabSeparated.int64(Array("99999999999999999999".utf8)))
        XCTAssertEqual(try TabSeparated.parse([]).count, 0)
    }

    /// What the shipper writes as `RowBinary` (`appendRowBinary`), the row reader reads back:
    /// every column, strings past 127 bytes (a two-byte length) and bytes TabSeparated escapes;
    /// and every cut of the answer is an error, never a trap.
    func testRowBinaryRoundTripAndTruncation() throws {
        var records: [EventRecord] = []
        for i in 0..<40 {
            var r = EventRecord()
            r.ts = 1_772_400_000_000 + Int64(i) * 977
            r.type = EventType(rawValue: UInt8(i % 7)) ?? .pageview
            r.visitor = UInt64.max - UInt64(i); r.session = UInt64(i) << 40
            r.site = "s\(i % 2)"; r.path = i % 3 == 0 ? "/" + String(repeating: "é", count: 100 + i) : "/p\t\n\\\(i % 4)"
            r.element = i % 5 == 0 ? "" : "button#b\(i % 3)"; r.text = String(repeating: "x", count: i * 5)
            r.value = i % 2 == 0 ? -0.0 : Double(i) / 7; r.timeOnPage = Int32.min + Int32(i)
            r.x = -Int32(i); r.y = Int32.max - Int32(i); r.scrollDepth = Int8(truncatingIfNeeded: i * 9)
            r.importId = UInt32.max - UInt32(i)
            records.append(r)
        }
        var body: [UInt8] = []
        ClickHouseEventWriter.appendRowBinary(ColumnChunk.from(records: records), to: &body)
        let chunk = try ClickHouseEventSource.chunk(body, columns: ColumnSet.all)
        XCTAssertEqual(chunk.count, records.count)
        for (i, r) in records.enumerated() {
            var got = EventRecord()
            got.ts = chunk.ts[i]; got.type = EventType(rawValue: chunk.type[i]) ?? .pageview
            got.visitor = chunk.visitor[i]; got.session = chunk.session[i]; got.value = chunk.value[i]
            got.timeOnPage = chunk.timeOnPage[i]; got.x = chunk.x[i]; got.y = chunk.y[i]
            got.scrollDepth = chunk.scrollDepth[i]; got.importId = chunk.importId[i]
            for c in StringColumns.all {
                guard let d = chunk.string(c) else { return XCTFail("no column \(c)") }
                got.setString(c, d.dictionary.values[Int(d.codes[i])])
            }
            XCTAssertEqual(got.value.bitPattern, r.value.bitPattern, "row \(i)")
            got.value = r.value
            XCTAssertEqual(got, r, "row \(i)")
        }
        // Cut anywhere inside a row: an error. (A cut at a row boundary is a shorter answer.)
        for cut in stride(from: 1, to: body.count, by: 7) {
            if let c = try? ClickHouseEventSource.chunk(Array(body.prefix(cut)), columns: ColumnSet.all) {
                var whole: [UInt8] = []
                ClickHouseEventWriter.appendRowBinary(ColumnChunk.from(records: Array(records.prefix(c.count))), to: &whole)
                XCTAssertEqual(whole.count, cut, "a cut at \(cut) was read as \(c.count) rows")
            }
        }
    }

    func testPatternsCompileToExactMatches() throws {
        let f = try FilterParser.parse("page==/docs/*|/a.b;source==(direct)|google.*;event_name!=Sign\\*up")
        XCTAssertEqual(AggregateSQL.condition(f[0], on: "path"),
                       "(match(path, '(?s)^\\\\/docs\\\\/.*$') OR path = '/a.b')")
        XCTAssertEqual(AggregateSQL.condition(f[1], on: "r"), "(r = '' OR match(r, '(?s)^google\\\\..*$'))")
        XCTAssertEqual(AggregateSQL.condition(f[2], on: "name"), "NOT (name = 'Sign*up')")
    }

    func testSchemaChoosesDictionaryColumnsByServerVersion() {
        XCTAssertFalse(ClickHouseSchema.supportsLowCardinality(serverVersion: "18.16.1"))
        XCTAssertTrue(ClickHouseSchema.supportsLowCardinality(serverVersion: "19.17.4.11"))
        XCTAssertTrue(ClickHouseSchema.supportsLowCardinality(serverVersion: "24.3.1"))
        let ddl = ClickHouseSchema.mergeTreeDDL(table: "events", lowCardinality: false)
        XCTAssertTrue(ddl.contains("ORDER BY (site, ts)"))
        XCTAssertTrue(ddl.contains("PARTITION BY toYYYYMM"))
        XCTAssertFalse(ddl.contains("LowCardinality"))
        XCTAssertTrue(ClickHouseSchema.mergeTreeDDL(table: "events", lowCardinality: true).contains("referrer LowCardinality(String)"))
        XCTAssertTrue(ClickHouseSchema.distributedDDL(cluster: "c", database: "d", lowCardinality: false)
            .contains("Distributed(c, d, events_local, cityHash64(site))"))
    }
}
