import Foundation

/// What `up` keeps between runs, in `<root>/baseline.json`: the secrets made at the first `up`
/// and what the seeding put on the site.
public struct BaselineState: Codable, Sendable, Hashable {
    public var secrets: SiteSecrets
    public var seeded: SeedSummary?

    static func load(_ path: String) -> BaselineState? {
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(BaselineState.self, from: d)
    }

    func save(_ path: String) throws(BaselineError) {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        do {
            try e.encode(self).write(to: URL(fileURLWithPath: path))
            chmod(path, 0o600)
        } catch { throw .invalid("cannot write \(path): \(error)") }
    }
}

/// What the seeding created.
public struct SeedSummary: Codable, Sendable, Hashable {
    public var posts: Int
    public var pages: Int
    public var images: Int
    public var categories: Int
    public var comments: Int
    public var editors: Int
    public var subscribers: Int
}

/// What `status` found, part by part.
public struct BaselineStatus: Codable, Sendable, Hashable {
    public var lab = false
    public var database = false
    public var php = false
    public var web = false
    public var proxy = false
    /// Person addresses present on the generator's interface.
    public var addresses = 0
    /// HTTP status of `GET /` over http and https from the generator side (0: no answer).
    public var httpStatus = 0
    public var httpsStatus = 0
    public var seeded: SeedSummary?
    public var siteAddress = ""
    public var root = ""

    public var isUp: Bool { lab && database && php && web && proxy && httpStatus == 200 && httpsStatus == 200 }
    public var isDown: Bool { !lab && !database && !php && !web && !proxy }

    public init() {}
}
