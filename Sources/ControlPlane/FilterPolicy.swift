import Foundation
import Hummingbird
import Dataplane
import Packets

/// `GET/PUT /api/mode` and `GET/PUT /api/allowlist`: the filter's policy, as the configuration
/// file's `observe` and `allowlist` keys set it at start and on a reload.
public enum FilterPolicy {
    /// The body of `/api/mode`: observe only (count what would be dropped) or enforce.
    public struct Mode: Codable, Equatable, Sendable {
        public var observe: Bool
    }

    /// The body of `/api/allowlist`: source prefixes that always pass, before any rule.
    public struct Allowlist: Codable, Equatable, Sendable {
        public var prefixes: [String]
    }

    /// What a PUT did: the policy after it, and whether it differs from before.
    struct Changed<T: Encodable & Sendable>: Encodable, Sendable {
        var value: T
        var changed: Bool

        func encode(to encoder: any Encoder) throws {
            try value.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(changed, forKey: .changed)
        }
        enum Key: String, CodingKey { case changed }
    }

    static let expectedMode = #"{"observe": true}"#
    static let expectedAllowlist = #"{"prefixes": ["192.0.2.53/32", "2001:db8::/32"]}"#

    /// The mode of the run: the first filter's (a run sets every filter's together).
    static func mode(of filters: FilterGroup) throws -> Mode {
        guard let on = filters.first.observing() else { throw Refusal(status: .serviceUnavailable, message: "the filter's mode cannot be read now") }
        return Mode(observe: on)
    }

    /// Sets every filter's mode, as the configuration's `observe` does.
    static func setMode(_ mode: Mode, of filters: FilterGroup) throws -> Changed<Mode> {
        let before = filters.members.map { $0.source.observing() }
        do {
            for m in filters.members { try m.source.setObserving(mode.observe) }
        } catch {
            throw Refusal(status: .conflict, message: "the mode was not changed: \(error)")
        }
        return Changed(value: Mode(observe: filters.first.observing() ?? mode.observe), changed: before.contains { $0 != mode.observe })
    }

    static func allowlist(of filters: FilterGroup) throws -> Allowlist {
        guard let list = filters.first.allowlist() else {
            throw Refusal(status: .notFound, message: "this filter's allowlist cannot be read back as a list here (holon run keeps the one it applied); PUT sets it")
        }
        return Allowlist(prefixes: list.map(\.description))
    }

    /// The prefixes of `list` (the body limit keeps them below the maps' 65,536 a family), each parsed (a 400 names the first that is not one), repeats dropped.
    static func prefixes(_ list: Allowlist) throws -> [AllowPrefix] {
        var out: [AllowPrefix] = []
        var seen = Set<AllowPrefix>()
        for (i, text) in list.prefixes.enumerated() {
            guard let p = IPPrefix(text.trimmingCharacters(in: .whitespaces)) else {
                throw Refusal(status: .badRequest, message: "prefixes[\(i)]: '\(text)' is not an address or prefix (192.0.2.0/24, 2001:db8::/32)")
            }
            if seen.insert(p).inserted { out.append(p) }
        }
        return out
    }

    /// Makes `list` every filter's whole allowlist, as the configuration's `allowlist` does.
    static func setAllowlist(_ list: Allowlist, of filters: FilterGroup) throws -> Changed<Allowlist> {
        let wanted = try prefixes(list)
        let before = filters.first.allowlist()
        do {
            for m in filters.members { try m.source.replaceAllowlist(wanted) }
        } catch {
            throw Refusal(status: .conflict, message: "the allowlist was not changed: \(error)")
        }
        return Changed(value: Allowlist(prefixes: wanted.map(\.description)), changed: before.map(Set.init) != Set(wanted))
    }
}
