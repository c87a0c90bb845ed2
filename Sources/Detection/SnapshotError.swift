/// Why a saved baseline cannot be used. Every case reads as one line fit for a log, naming what
/// is wrong; the caller reports it and relearns.
public enum SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No file there (a first start).
    case notFound(path: String)
    /// The file exists but could not be read or written.
    case io(path: String, reason: String)
    /// The first bytes are not a Holon baseline's magic.
    case notASnapshot
    /// Written by a format this build does not read.
    case unsupportedVersion(UInt16)
    /// The file ends at byte `at` where its header promises `expected` bytes.
    case truncated(at: Int, expected: Int)
    /// The file holds more bytes than its header promises.
    case lengthMismatch(declared: Int, actual: Int)
    case checksumMismatch(stored: UInt64, computed: UInt64)
    /// The checksum holds but a value inside makes no sense (a bug or a forged file).
    case malformed(String)
    /// Learned with settings that make it meaningless here (dimension, seed, encoding, …).
    case incompatible(String)
    /// Older than the age allowed: traffic has moved on since.
    case tooOld(ageSeconds: Double, maxAgeSeconds: Double)
    /// Saved at a time the clock has not reached yet.
    case fromTheFuture(secondsAhead: Double)
    /// Asked of a detector that is still in warmup: there is nothing learned to save.
    case notArmed

    public var description: String {
        switch self {
        case .notFound(let path): return "no saved baseline at \(path)"
        case .io(let path, let reason): return "\(path): \(reason)"
        case .notASnapshot: return "not a Holon baseline (wrong magic bytes)"
        case .unsupportedVersion(let v): return "format version \(v) not supported (this build reads \(DetectorSnapshot.readableVersions.lowerBound)…\(DetectorSnapshot.readableVersions.upperBound))"
        case .truncated(let at, let expected): return "truncated at byte \(at) (expected \(expected) bytes)"
        case .lengthMismatch(let declared, let actual): return "length mismatch: header says \(declared) bytes, file has \(actual)"
        case .checksumMismatch(let stored, let computed):
            return "checksum mismatch (stored \(String(stored, radix: 16)), computed \(String(computed, radix: 16)))"
        case .malformed(let what): return "malformed: \(what)"
        case .incompatible(let what): return "incompatible: \(what)"
        case .tooOld(let age, let max): return "too old: saved \(Int(age)) s ago, the limit is \(Int(max)) s"
        case .fromTheFuture(let ahead): return "saved \(Int(ahead)) s in the future: the clock went back"
        case .notArmed: return "the detector is still in warmup: nothing learned to save"
        }
    }
}
