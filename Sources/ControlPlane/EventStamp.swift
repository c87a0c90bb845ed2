import Foundation

/// Wall-clock stamps on the events the control plane hands out. The sidecar's own times are
/// packet times (`at_ns` of an opened incident); a reader of the stream or of a log also needs
/// when the loop reported it, in a form a person and a program both read.
enum EventStamp {
    /// `line` (one JSON object) with `time` (ISO-8601, UTC, milliseconds) and `time_ms` (Unix
    /// milliseconds) added, and `interface` when given; a line that is not a JSON object is
    /// wrapped so nothing is lost.
    static func stamp(_ line: String, at date: Date, interface: String? = nil) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? ["event": "raw", "line": line]
        object["time"] = iso(ms)
        object["time_ms"] = ms
        if let interface { object["interface"] = interface }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return line }
        return String(decoding: data, as: UTF8.self)
    }

    /// `2026-12-04T07:01:02.345Z`: built by hand, as ISO8601DateFormatter is not Sendable.
    static func iso(_ ms: Int64) -> String {
        var t = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(ms % 1000))
    }
}
