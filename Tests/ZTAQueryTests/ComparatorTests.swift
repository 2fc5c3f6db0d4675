import XCTest
@testable import ZTAQuery

/// The conformance comparator must catch differences (else the conformance test would be vacuous).
final class ComparatorTests: XCTestCase {
    func testDetectsDifferences() throws {
        let exp = try parseJSON(Array(#"{"results":[{"date":"2026-03-01","visitors":4670,"bounce_rate":41.2}],"query":{"x":1}}"#.utf8))
        var d: [String] = []
        compareJSON(exp, try parseJSON(Array(#"{"results":[{"date":"2026-03-01","visitors":4670,"bounce_rate":41.2,"extra":1}],"query":{}}"#.utf8)), "", &d)
        XCTAssertEqual(d, [])
        d = []
        compareJSON(exp, try parseJSON(Array(#"{"results":[{"date":"2026-03-01","visitors":4671,"bounce_rate":41.2}]}"#.utf8)), "", &d)
        XCTAssertEqual(d.count, 1)
        d = []
        compareJSON(exp, try parseJSON(Array(#"{"results":[{"date":"2026-03-01","visitors":4670,"bounce_rate":41.3}]}"#.utf8)), "", &d)
        XCTAssertEqual(d.count, 1)
        d = []
        compareJSON(exp, try parseJSON(Array(#"{"results":[{"date":"2026-03-02","visitors":4670,"bounce_rate":41.2}]}"#.utf8)), "", &d)
        XCTAssertEqual(d.count, 1)
        d = []
        compareJSON(exp, try parseJSON(Array(#"{"results":[]}"#.utf8)), "", &d)
        XCTAssertEqual(d.count, 1)
    }
}
