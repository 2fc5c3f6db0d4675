import CMaxMindDB
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a client address is, as stored on an event (events.md §1): `country` is the ISO 3166-1
/// alpha-2 code, `region` the ISO 3166-2 code of the first subdivision (`DE-BE`); both empty
/// when unknown.
public struct GeoLocation: Sendable, Equatable {
    public var country: String
    public var region: String

    public init(country: String = "", region: String = "") {
        self.country = country
        self.region = region
    }

    public static let unknown = GeoLocation()
}

/// Country and region of an IP address from a MaxMind DB (`.mmdb`, e.g. GeoLite2-City or
/// GeoLite2-Country) through libmaxminddb. The file is mapped once at start; lookups only read
/// it, so any number of threads may look up concurrently. Nothing here keeps or logs addresses:
/// the small cache is keyed by the database record a lookup lands on, not by the address.
public final class GeoIPResolver: @unchecked Sendable {
    // Never mutated after `init` (libmaxminddb lookups take a const MMDB_s).
    private let mmdb: UnsafeMutablePointer<MMDB_s>
    /// Locations by data-section offset: many networks share one record, and decoding the
    /// record's maps is most of a lookup's cost.
    private let cache = Mutex<[UInt32: GeoLocation]>([:])
    private static let cacheLimit = 4096

    /// The database's type from its metadata, e.g. `GeoLite2-City`.
    public let databaseType: String

    /// Opens `path`; throws a `ServerError` naming the file and libmaxminddb's reason.
    public init(path: String) throws {
        mmdb = .allocate(capacity: 1)
        errno = 0
        let status = MMDB_open(path, UInt32(MMDB_MODE_MMAP), mmdb)
        guard status == MMDB_SUCCESS else {
            mmdb.deallocate()
            var reason = String(cString: MMDB_strerror(status))
            if status == MMDB_IO_ERROR || status == MMDB_FILE_OPEN_ERROR, errno != 0 {
                reason += " (" + String(cString: strerror(errno)) + ")"
            }
            throw ServerError("cannot open GeoIP database \(path): \(reason)")
        }
        databaseType = mmdb.pointee.metadata.database_type.map { String(cString: $0) } ?? ""
    }

    deinit {
        MMDB_close(mmdb)
        mmdb.deallocate()
    }

    /// The location of `ip` (textual IPv4 or IPv6); unknown when it does not parse or the
    /// database has no entry for it.
    public func locate(_ ip: String) -> GeoLocation {
        guard let a = IPBytes(ip) else { return .unknown }
        return locate(a)
    }

    func locate(_ ip: IPBytes) -> GeoLocation {
        var error: Int32 = 0
        var result: MMDB_lookup_result_s
        if ip.bytes.count == 4 {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: ip.bytes) }
            result = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(mmdb, $0, &error) }
            }
        } else {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: ip.bytes) }
            result = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(mmdb, $0, &error) }
            }
        }
        // An IPv6 address in an IPv4-only database is an error, not a miss; both mean unknown.
        guard error == MMDB_SUCCESS, result.found_entry else { return .unknown }
        let key = result.entry.offset
        if let hit = cache.withLock({ $0[key] }) { return hit }
        let location = decode(&result.entry)
        cache.withLock { c in
            if c.count >= Self.cacheLimit { c.removeAll(keepingCapacity: true) }
            c[key] = location
        }
        return location
    }

    private func decode(_ entry: inout MMDB_entry_s) -> GeoLocation {
        let country = string(&entry, Self.countryPath)
        guard country.utf8.count == 2 else { return .unknown }
        let subdivision = string(&entry, Self.subdivisionPath)
        return GeoLocation(country: country, region: subdivision.isEmpty ? "" : country + "-" + subdivision)
    }

    /// The UTF-8 string at `path` in the record, "" when absent or of another type.
    private func string(_ entry: inout MMDB_entry_s, _ path: CPath) -> String {
        var data = MMDB_entry_data_s()
        let status = MMDB_aget_value(&entry, &data, path.pointer)
        guard status == MMDB_SUCCESS, data.has_data, data.type == UInt32(MMDB_DATA_TYPE_UTF8_STRING),
              let bytes = data.utf8_string else { return "" }
        // Not NUL-terminated: a slice of the mapped file.
        let buffer = UnsafeRawBufferPointer(start: bytes, count: Int(data.data_size))
        return String(decoding: buffer, as: UTF8.self)
    }

    private static let countryPath = CPath(["country", "iso_code"])
    private static let subdivisionPath = CPath(["subdivisions", "0", "iso_code"])
}

/// A NULL-terminated array of C strings (a libmaxminddb lookup path), built once and kept for
/// the life of the process.
private final class CPath: @unchecked Sendable {
    let pointer: UnsafePointer<UnsafePointer<CChar>?>

    init(_ keys: [String]) {
        let p = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: keys.count + 1)
        for (k, key) in keys.enumerated() { p[k] = UnsafePointer(strdup(key)) }
        p[keys.count] = nil
        pointer = UnsafePointer(p)
    }
}
