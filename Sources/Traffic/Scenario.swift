import Foundation

/// A reproducible traffic scenario: phases of normal traffic with attacks on top, all from one
/// seed. Codable as JSON (see ``decode(_:)`` for errors that name the offending field).
public struct Scenario: Codable, Hashable, Sendable {
    public var name: String
    public var seed: UInt64
    /// Timestamp of the first phase's start, nanoseconds since the Unix epoch.
    public var epoch: UInt64
    public var arrivals: ArrivalModel
    public var normal: NormalProfile
    public var phases: [ScenarioPhase]

    /// 2023-11-14T22:13:20Z.
    public static let defaultEpoch: UInt64 = 1_700_000_000_000_000_000

    public init(name: String, seed: UInt64, epoch: UInt64 = Scenario.defaultEpoch, arrivals: ArrivalModel = .jittered,
                normal: NormalProfile = NormalProfile(), phases: [ScenarioPhase]) {
        self.name = name
        self.seed = seed
        self.epoch = epoch
        self.arrivals = arrivals
        self.normal = normal
        self.phases = phases
    }

    /// Seconds, all phases.
    public var duration: Double { phases.reduce(0) { $0 + $1.duration } }
    public var totalPackets: Int { phases.reduce(0) { $0 + $1.totalPackets } }

    /// Start of each phase relative to the epoch, in nanoseconds, plus the end as the last entry.
    public var phaseBoundaries: [UInt64] {
        var out: [UInt64] = [0]
        var s = 0.0
        for p in phases {
            s += p.duration
            out.append(UInt64((s * 1e9).rounded()))
        }
        return out
    }

    /// The same scenario with another seed.
    public func withSeed(_ seed: UInt64) -> Scenario {
        var s = self
        s.seed = seed
        return s
    }

    enum CodingKeys: String, CodingKey { case name, seed, epoch, arrivals, normal, phases }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        seed = try c.decode(UInt64.self, forKey: .seed)
        epoch = try c.decodeIfPresent(UInt64.self, forKey: .epoch) ?? Self.defaultEpoch
        arrivals = try c.decodeIfPresent(ArrivalModel.self, forKey: .arrivals) ?? .jittered
        normal = try c.decodeIfPresent(NormalProfile.self, forKey: .normal) ?? NormalProfile()
        phases = try c.decode([ScenarioPhase].self, forKey: .phases)
        guard !phases.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .phases, in: c, debugDescription: "a scenario needs at least one phase")
        }
    }

    // MARK: JSON

    /// Parses a scenario, with errors such as `phases[2].attack.kind: unknown attack kind 'x'`.
    public static func decode(_ data: Data, file: String? = nil) throws(ScenarioError) -> Scenario {
        do {
            return try JSONDecoder().decode(Scenario.self, from: data)
        } catch let error as DecodingError {
            throw ScenarioError(error, file: file)
        } catch {
            throw ScenarioError(file: file, path: "", message: "\(error)")
        }
    }

    public static func load(path: String) throws(ScenarioError) -> Scenario {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ScenarioError(file: path, path: "", message: "cannot read file: \(error.localizedDescription)")
        }
        return try decode(data, file: path)
    }

    /// Pretty-printed JSON with sorted keys.
    public func jsonData() -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try! e.encode(self)
    }

    public var jsonString: String { String(decoding: jsonData(), as: UTF8.self) }

    public func save(path: String) throws {
        try jsonData().write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// A bad scenario file: which file, where in it (`phases[1].attack.rate`) and what is wrong.
public struct ScenarioError: Error, CustomStringConvertible, Sendable {
    public var file: String?
    /// JSON path of the offending value, e.g. `phases[1].attack.rate`; empty for the whole file.
    public var path: String
    public var message: String

    public init(file: String? = nil, path: String, message: String) {
        self.file = file
        self.path = path
        self.message = message
    }

    init(_ error: DecodingError, file: String?) {
        func render(_ keys: [any CodingKey]) -> String {
            var s = ""
            for k in keys {
                if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
            }
            return s
        }
        self.file = file
        switch error {
        case .keyNotFound(let key, let ctx):
            path = render(ctx.codingPath + [key])
            message = "missing required field '\(key.stringValue)'"
        case .valueNotFound(let type, let ctx):
            path = render(ctx.codingPath)
            message = "expected \(type), found null"
        case .typeMismatch(let type, let ctx):
            path = render(ctx.codingPath)
            message = "expected \(Self.typeName(type))"
        case .dataCorrupted(let ctx):
            path = render(ctx.codingPath)
            if ctx.codingPath.isEmpty, let underlying = ctx.underlyingError {
                message = "not valid JSON (\(underlying.localizedDescription))"
            } else {
                message = ctx.debugDescription
            }
        @unknown default:
            path = ""
            message = "\(error)"
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Double.Type, is Int.Type, is UInt64.Type: return "a number"
        case is Bool.Type: return "true or false"
        default:
            let n = "\(type)"
            return n.hasPrefix("Array") ? "an array" : (n.hasPrefix("Dictionary") ? "an object" : n)
        }
    }

    public var description: String {
        let where_ = [file, path.isEmpty ? nil : path].compactMap { $0 }.joined(separator: ": ")
        return where_.isEmpty ? message : "\(where_): \(message)"
    }
}
