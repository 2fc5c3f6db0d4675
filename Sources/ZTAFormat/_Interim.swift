// INTERIM: type-check stubs until the format/ingest branches merge. Deleted at merge.
public struct FormatError: Error, Sendable { public var message: String; public var file: String; public var offset: Int }
public enum SegmentWriter { public static func encode(_ chunk: ColumnChunk, site: String, blockRows: Int = 65536) throws -> [UInt8] { fatalError() } }
public final class SegmentReader: @unchecked Sendable {
    public init(bytes: UnsafeRawBufferPointer, file: String) throws { fatalError() }
    public var blockCount: Int { 0 }
    public var rowCount: Int { 0 }
    public func blockStats(_ i: Int) -> BlockStats { fatalError() }
    public func dictionary(_ c: Column) throws -> StringDictionary { fatalError() }
    public func decodeBlock(_ i: Int, columns: ColumnSet) throws -> ColumnChunk { fatalError() }
    public func verify() throws {}
    public func describe() -> String { "" }
}
extension ColumnChunk { public func concatenated(with other: ColumnChunk) -> ColumnChunk { fatalError() } }
public struct ColumnChunkBuilder { public init(capacity: Int = 0) {}; public var count: Int { 0 }; public mutating func append(_ r: EventRecord) {}; public func build() -> ColumnChunk { fatalError() }; public mutating func removeAll(keepingCapacity: Bool) {} }
