#if canImport(Glibc)
import Glibc
#endif

/// How a child ended, from waitpid's status word: its exit code, or 128 + the signal that ended
/// it (the shell's convention, so a killed child never reads as a success).
public enum ExitStatus {
    public static func code(_ status: Int32) -> Int32 {
        (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// Waits for `pid` (retrying on EINTR); its exit code.
    @discardableResult
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return code(status)
    }

    /// Whether `pid` has ended (reaping it): its exit code then, nil while it runs.
    public static func poll(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == 0 { return nil }
        return code(status)
    }
}
