import Foundation
import Rules

/// What an announcer has announced, kept in a file beside the speaker's lifetime (`/run`): a
/// holon killed or crashed leaves its routes at the speaker with no one to withdraw them, and
/// the next run reads here which those were. Routes by rule id: the match as NLRI bytes (RFC
/// 8955 §4), which is what a withdrawal names, and the action's rate (bytes a second, 0 discards).
public struct AnnouncedLedger: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The ledger for a speaker: one file per speaker endpoint, so two runs that announce
    /// through different speakers never read each other's routes.
    public static func path(for speaker: String, directory: String = "/run/holon") -> String {
        let name = speaker.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }
        return directory + "/flowspec-" + String(name) + ".json"
    }

    struct Entry: Codable {
        var rule_id: UInt32
        var family: String
        var nlri: String
        var rate: Float
    }

    struct File: Codable {
        var format: Int
        var routes: [Entry]
    }

    static let format = 1

    /// The routes left announced; none when there is no file.
    public func load() throws(FlowspecError) -> [UInt32: FlowspecRule] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        guard let file = try? JSONDecoder().decode(File.self, from: data), file.format == Self.format else {
            throw FlowspecError("\(path) is not a ledger of announced routes (format \(Self.format))")
        }
        var routes: [UInt32: FlowspecRule] = [:]
        for (i, e) in file.routes.enumerated() {
            guard let family = FlowspecRule.Family(rawValue: e.family), let bytes = PayloadMatch.bytes(hex: e.nlri) else {
                throw FlowspecError("\(path): route \(i) is unreadable")
            }
            do {
                var r = try FlowspecNLRI.decode(bytes, family: family)
                r.action = .trafficRate(bytesPerSecond: e.rate)
                routes[e.rule_id] = r
            } catch {
                throw FlowspecError("\(path): route \(i): \(error.description)")
            }
        }
        return routes
    }

    /// Writes `routes` in place of what the file held (a new file renamed over it: never half);
    /// with none, removes the file (a run that withdrew everything leaves nothing behind).
    public func save(_ routes: [UInt32: FlowspecRule]) throws(FlowspecError) {
        if routes.isEmpty {
            guard unlink(path) == 0 || errno == ENOENT else { throw FlowspecError("cannot remove \(path): \(String(cString: strerror(errno)))") }
            return
        }
        var entries: [Entry] = []
        for (id, r) in routes.sorted(by: { $0.key < $1.key }) {
            guard let bytes = try? FlowspecNLRI.encode(r) else { continue }   // announced, so encodable
            let rate: Float
            switch r.action { case .trafficRate(let bytes): rate = bytes }
            entries.append(Entry(rule_id: id, family: r.family.rawValue, nlri: PayloadMatch.hex(bytes), rate: rate))
        }
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let data = try JSONEncoder().encode(File(format: Self.format, routes: entries))
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw FlowspecError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
