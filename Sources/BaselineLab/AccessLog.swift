import Foundation

/// What the site saw, read from nginx's access log (the lab's `baseline` format:
/// `addr [time] "request" status bytes request_time "user agent" scheme`).
public struct AccessLogSummary: Codable, Sendable {
    public var requests = 0
    /// Requests by what was asked for: page, admin, api (REST, admin-ajax), login, comment, upload,
    /// css, js, image, font, other.
    public var byKind: [String: Int] = [:]
    public var byStatus: [String: Int] = [:]
    public var bytes = 0
    public var clients: [String] = []
    /// Requests by the browser engine their User-Agent names.
    public var byEngine: [String: Int] = [:]
    public var byScheme: [String: Int] = [:]
    /// Requests answered 5xx.
    public var serverErrors = 0

    public var distinctClients: Int { clients.count }

    enum CodingKeys: String, CodingKey {
        case requests, byKind = "by_kind", byStatus = "by_status", bytes, clients, byEngine = "by_engine",
             byScheme = "by_scheme", serverErrors = "server_errors", distinctClients = "distinct_clients"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(requests, forKey: .requests)
        try c.encode(byKind, forKey: .byKind)
        try c.encode(byStatus, forKey: .byStatus)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(clients, forKey: .clients)
        try c.encode(byEngine, forKey: .byEngine)
        try c.encode(byScheme, forKey: .byScheme)
        try c.encode(serverErrors, forKey: .serverErrors)
        try c.encode(distinctClients, forKey: .distinctClients)
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        requests = try c.decode(Int.self, forKey: .requests)
        byKind = try c.decode([String: Int].self, forKey: .byKind)
        byStatus = try c.decode([String: Int].self, forKey: .byStatus)
        bytes = try c.decode(Int.self, forKey: .bytes)
        clients = try c.decode([String].self, forKey: .clients)
        byEngine = try c.decode([String: Int].self, forKey: .byEngine)
        byScheme = try c.decode([String: Int].self, forKey: .byScheme)
        serverErrors = try c.decode(Int.self, forKey: .serverErrors)
    }
}

public enum AccessLog {
    /// The log's size now: a run summarises only what was appended after it.
    public static func offset(_ path: String) -> UInt64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// Summarises the lines from byte `from` on.
    public static func summarize(_ path: String, from: UInt64 = 0) -> AccessLogSummary {
        var s = AccessLogSummary()
        guard let h = FileHandle(forReadingAtPath: path) else { return s }
        defer { try? h.close() }
        try? h.seek(toOffset: from)
        let data = (try? h.readToEnd()) ?? Data()
        var clients = Set<String>()
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let r = parse(line) else { continue }
            s.requests += 1
            clients.insert(r.address)
            s.byKind[kind(r.path), default: 0] += 1
            s.byStatus[String(r.status), default: 0] += 1
            if r.status >= 500 { s.serverErrors += 1 }
            s.bytes += r.bytes
            s.byEngine[engine(r.userAgent), default: 0] += 1
            s.byScheme[r.scheme, default: 0] += 1
        }
        s.clients = clients.sorted { a, b in a.split(separator: ".").compactMap { Int($0) }.lexicographicallyPrecedes(b.split(separator: ".").compactMap { Int($0) }) }
        return s
    }

    struct Line {
        var address: String
        var method: String
        var path: String
        var status: Int
        var bytes: Int
        var userAgent: String
        var scheme: String
    }

    static func parse(_ line: Substring) -> Line? {
        // addr [time] "METHOD path HTTP/x" status bytes rt "ua" scheme
        let quoted = line.split(separator: "\"", omittingEmptySubsequences: false)
        guard quoted.count >= 5 else { return nil }
        let address = String(quoted[0].split(separator: " ").first ?? "")
        let request = quoted[1].split(separator: " ")
        let mid = quoted[2].split(separator: " ")
        guard request.count >= 2, mid.count >= 2, let status = Int(mid[0]) else { return nil }
        let scheme = quoted[quoted.count - 1].trimmingCharacters(in: .whitespaces)
        return Line(address: address, method: String(request[0]), path: String(request[1]), status: status,
                    bytes: Int(mid[1]) ?? 0, userAgent: String(quoted[3]), scheme: scheme)
    }

    /// What a request was for, from its path.
    static func kind(_ path: String) -> String {
        let p = path.split(separator: "?").first.map(String.init) ?? path
        if p.hasPrefix("/wp-json") || p.hasSuffix("admin-ajax.php") || path.contains("rest_route=") { return "api" }
        if p.hasSuffix("wp-login.php") { return "login" }
        if p.hasSuffix("wp-comments-post.php") { return "comment" }
        if p.hasSuffix("async-upload.php") || p.hasSuffix("media-new.php") && path.contains("upload") { return "upload" }
        if p.hasPrefix("/wp-admin") && (p.hasSuffix(".php") || p.hasSuffix("/")) { return "admin" }
        let ext = p.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "css": return "css"
        case "js": return "js"
        case "png", "jpg", "jpeg", "gif", "webp", "svg", "ico": return "image"
        case "woff", "woff2", "ttf": return "font"
        default: return p.hasSuffix(".php") && !p.hasSuffix("index.php") ? "other" : "page"
        }
    }

    /// The engine a User-Agent names (Chromium says Chrome; WebKit says Safari without Chrome).
    static func engine(_ ua: String) -> String {
        if ua.contains("Firefox/") { return "firefox" }
        if ua.contains("Chrome/") || ua.contains("Chromium/") { return "chromium" }
        if ua.contains("AppleWebKit") && ua.contains("Safari") { return "webkit" }
        return ua.isEmpty || ua == "-" ? "none" : "other"
    }
}
