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
