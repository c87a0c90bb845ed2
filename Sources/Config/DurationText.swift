import Foundation

/// Durations as people write them: `30s`, `500ms`, `2m`, `24h`, `1d`, or a bare number of seconds.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            if let v = Double(t.dropLast(suffix.count)), v >= 0, v.isFinite, v * scale < 1e9 { return .nanoseconds(Int64(v * scale * 1e9)) }
            return nil
        }
        if let v = Double(t), v >= 0, v.isFinite, v < 1e9 { return .nanoseconds(Int64(v * 1e9)) }
        return nil
    }

    public static let hint = "use e.g. 30s, 500ms, 2m, 24h"
}

extension Duration {
    /// Seconds as a Double (for arithmetic and printing).
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
