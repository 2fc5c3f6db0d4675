import ZTAFormat

/// What `ztas verify` found in a data directory.
public struct VerifyReport: Sendable {
    /// Files checked, by kind.
    public var segmentsChecked = 0
    public var walFilesChecked = 0
    public var rows = 0
    /// Every problem found; empty means the directory is sound.
    public var problems: [StorageError] = []
    public var isClean: Bool { problems.isEmpty }
}

extension EventStore {
    /// Checks every checksum and structure of a data directory without taking its lock or changing
    /// anything: the manifest, every live segment (trailer, footer, every block), every WAL
    /// generation not yet flushed (a torn tail on the newest one is normal and not a problem).
    public static func verify(directory: String) -> VerifyReport {
        var report = VerifyReport()
        let manifestPath = directory + "/" + Manifest.fileName
        let manifest: Manifest
        do {
            manifest = try Manifest.decode(try FileSystem.readAll(manifestPath), file: manifestPath)
        } catch let e as StorageError {
            report.problems.append(e)
            return report
        } catch {
            report.problems.append(StorageError(.io, "\(error)", file: manifestPath))
            return report
        }
        for meta in manifest.segments {
            let path = directory + "/" + meta.relativePath
            do {
                let file = try MappedFile(path: path)
                if file.bytes.count != meta.bytes {
                    throw StorageError(.corrupt, "segment is \(file.bytes.count) bytes, manifest says \(meta.bytes)", file: path)
                }
                let reader = try SegmentReader(bytes: file.bytes, file: path)
                try reader.verify()
                if reader.rowCount != meta.rows {
                    throw StorageError(.corrupt, "segment holds \(reader.rowCount) rows, manifest says \(meta.rows)", file: path)
                }
                report.rows += reader.rowCount
                report.segmentsChecked += 1
            } catch let e as StorageError {
                report.problems.append(e)
            } catch let e as FormatError {
                report.problems.append(StorageError(e))
            } catch {
                report.problems.append(StorageError(.corrupt, "\(error)", file: path))
            }
        }
        let walDir = directory + "/wal"
        let generations = ((try? FileSystem.list(walDir)) ?? []).compactMap(WALFile.parseName).filter { $0 >= manifest.walStart }.sorted()
        for (i, seq) in generations.enumerated() {
            let path = walDir + "/" + WALFile.name(seq)
            do {
                let file = try MappedFile(path: path)
                let scan = try WALRecord.scan(file.bytes, file: path)
                if let torn = scan.tornAt, i != generations.count - 1 {
                    throw StorageError(.corrupt, "WAL file ends in a partial record but is not the newest", file: path, offset: torn)
                }
                for (offset, payload) in scan.payloads {
                    do {
                        report.rows += try payload.withUnsafeBytes { try WALRecord.decodeEvents($0) }.count
                    } catch let e as WALRecord.BadPayload {
                        throw StorageError(.corrupt, "WAL record is malformed: \(e.reason)", file: path, offset: offset)
                    }
                }
                report.walFilesChecked += 1
            } catch let e as StorageError {
                report.problems.append(e)
            } catch {
                report.problems.append(StorageError(.corrupt, "\(error)", file: path))
            }
        }
        return report
    }
}
