import Foundation
import Sidecar

/// Wall-clock stamps on the events the control plane hands out. The sidecar's own times are
/// packet times (`at_ns` of an opened incident); a reader of the stream or of a log also needs
/// when the loop reported it, in a form a person and a program both read.
enum EventStamp {
    /// The event's JSON object with `time` (ISO-8601, UTC, milliseconds) and `time_ms` (Unix
    /// milliseconds) added, and `interface` when given; keys sorted.
    static func stamp(_ event: SidecarEvent, at date: Date, interface: String? = nil) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let data = try? e.encode(Stamped(event: event, timeMs: ms, interface: interface))
        return data.map { String(decoding: $0, as: UTF8.self) } ?? event.json
    }

    /// The event's own keys and the stamp's, in one object.
    struct Stamped: Encodable {
        let event: SidecarEvent
        let timeMs: Int64
        let interface: String?

        func encode(to encoder: any Encoder) throws {
            try event.encode(to: encoder)
            var c = encoder.container(keyedBy: SidecarEvent.Key.self)
            try c.encode(EventStamp.iso(timeMs), forKey: .init("time"))
            try c.encode(timeMs, forKey: .init("time_ms"))
            if let interface { try c.encode(interface, forKey: .init("interface")) }
        }
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
