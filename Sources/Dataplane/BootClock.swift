import Foundation

/// The kernel's CLOCK_BOOTTIME (what `bpf_ktime_get_boot_ns` reads: it keeps counting through
/// suspend) against the wall clock rules are stamped with.
enum BootClock {
    static func nowNs(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Wall ns minus boot ns, now.
    static func offsetNs() -> Int64 { nowNs(CLOCK_REALTIME) - nowNs(CLOCK_BOOTTIME) }

    /// A wall-clock instant on the boot clock; one already past is 1 (expired, not "never").
    static func boot(fromWall wall: UInt64, offsetNs: Int64) -> UInt64 {
        let b = Int64(clamping: wall) - offsetNs
        return b > 0 ? UInt64(b) : 1
    }
}
