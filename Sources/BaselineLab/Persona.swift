import Traffic
/// One simulated person: who they are on the site, which browser they use, what they like.
public struct Persona: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable { case reader, editor }
    public var index: Int
    public var kind: Kind
    public var engine: Engine
    public var account: Account
    /// Categories this person reads more of (names as seeded).
    public var interests: [String]
    /// How long they dwell on a page, relative to others (1 = typical).
    public var patience: Double
    /// How likely they are to write a comment when a post is open.
    public var talkativeness: Double
    /// Whether they visit over https (most) or plain http.
    public var https: Bool
    public var seed: UInt64

    static let categories = ["Networks", "Gardens", "Kitchens", "Roads", "Letters", "Workshops"]

    /// The cast: `editors` editors first, then `readers` readers, engines in the seed's mix
    /// (~80 % Chromium, ~15 % WebKit, ~5 % Firefox, at least one of each when there are three or
    /// more people and the engine is available), everything drawn from `seed`.
    public static func cast(readers: Int, editors: Int, seed: UInt64, engines: Set<Engine>) -> [Persona] {
        let total = readers + editors
        let mix = engineMix(total, available: engines)
        var rng = SplitMix64(seed: seed)
        let editorAccounts = Accounts.editors(max(1, editors)), readerAccounts = Accounts.subscribers(max(1, readers))
        return (0..<total).map { i in
            let isEditor = i < editors
            let account = isEditor ? editorAccounts[i % editorAccounts.count] : readerAccounts[(i - editors) % readerAccounts.count]
            var pool = categories
            var interests: [String] = []
            for _ in 0..<2 { interests.append(pool.remove(at: Int(rng.next() % UInt64(pool.count)))) }
            return Persona(index: i, kind: isEditor ? .editor : .reader, engine: mix[i], account: account, interests: interests,
                           patience: 0.5 + rng.unit() * 1.5, talkativeness: 0.05 + rng.unit() * 0.25,
                           https: rng.unit() < 0.8, seed: rng.next())
        }
    }

    /// Engines for `n` people in the seed's proportions; engines not available fall back to
    /// the others (Chromium first), never to anything fake.
    public static func engineMix(_ n: Int, available: Set<Engine>) -> [Engine] {
        guard n > 0, !available.isEmpty else { return [] }
        var webkit = Int((Double(n) * 0.15).rounded()), firefox = Int((Double(n) * 0.05).rounded())
        if n >= 3 { webkit = max(1, webkit); firefox = max(1, firefox) }
        if !available.contains(.webkit) { webkit = 0 }
        if !available.contains(.firefox) { firefox = 0 }
        var chromium = n - webkit - firefox
        if !available.contains(.chromium) {
            if available.contains(.webkit) { webkit += chromium } else { firefox += chromium }
            chromium = 0
        }
        // Interleave so that editors (the first people) are not all one engine.
        var out: [Engine] = []
        var left: [Engine: Int] = [.chromium: chromium, .webkit: webkit, .firefox: firefox]
        for i in 0..<n {
            let pick: Engine
            if i % 7 == 1, left[.webkit, default: 0] > 0 { pick = .webkit }
            else if i % 11 == 2, left[.firefox, default: 0] > 0 { pick = .firefox }
            else if left[.chromium, default: 0] > 0 { pick = .chromium }
            else { pick = left.first { $0.value > 0 }!.key }
            left[pick, default: 0] -= 1
            out.append(pick)
        }
        return out
    }
}

