/// A 64-bit id column of one block as its `dictionary` chunk stores it: the block's distinct ids
/// in first-appearance order, and per row a small code into them.
///
/// `SegmentReader.decodeBlock` hands these over (as `ColumnChunk.visitorCodes` and
/// `sessionCodes`) next to the decoded ids whenever the chunk was dictionary-encoded, so a
/// session pass can index dense arrays by code instead of hashing every row's 64-bit id again.
public struct BlockCodes: Sendable {
    /// The block's distinct ids; `values[codes[i]]` is row `i`'s id.
    public let values: [UInt64]
    /// One code per row, each `< values.count`.
    public let codes: [UInt32]

    public init(values: [UInt64], codes: [UInt32]) {
        self.values = values
        self.codes = codes
    }
}
