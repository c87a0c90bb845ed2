import Detection
import Foundation

/// What was learned, kept across runs (issue 11 §4): a restart with a recent baseline detects
/// from its first samples instead of learning blind for the warmup.
extension Sidecar {
    /// Replaces the fresh detector with the saved one when ``SidecarConfig/baselinePath`` holds a
    /// usable baseline; says why when it does not (and learns anew). A first start says nothing.
    /// Says at the start when the baseline cannot be saved where it is to go (not a minute in,
    /// or at stop, when what was learned is lost for the next start).
    func checkBaselineWritable(_ onEvent: (SidecarEvent) -> Void) {
        guard let path = config.baselinePath else { return }
        do { try DetectorSnapshot.checkWritable(path) } catch {
            onEvent(.notice(kind: "baseline-save-failed", message: "the baseline cannot be saved (\(error)): what is learned will not outlive this run (baseline.directory, --baseline-dir)"))
        }
    }

    func restoreBaseline(_ onEvent: (SidecarEvent) -> Void) {
        guard let path = config.baselinePath else { return }
        do {
            let snap = try DetectorSnapshot.load(from: path, maxAge: config.baselineMaxAge, config: config.effectiveDetector)
            detector = try Detector(config: config.effectiveDetector, restoring: snap)
            let age = Date().timeIntervalSince(snap.savedAt)
            onEvent(.notice(kind: "baseline-restored", message: String(format: "baseline from %@ restored (saved %.0f s ago): detecting from the first samples, no warmup", path, age)))
        } catch .notFound {
            return
        } catch {
            onEvent(.notice(kind: "baseline-ignored", message: "saved baseline not used, learning anew: \(error)"))
        }
    }

    /// Writes what the detector has learned (nothing while it is still warming up). The
    /// snapshot is taken here, on the loop; encoding and writing happen on a thread of their
    /// own unless `wait` (at stop), and a save still running is not doubled.
    func saveBaseline(_ onEvent: (SidecarEvent) -> Void, wait: Bool) {
        guard let path = config.baselinePath else { return }
        if wait { saving.waitUntilIdle() }
        guard let snap = detector.snapshot(savedAt: Date()), saving.begin() else { return }
        let flight = saving
        let write: @Sendable () -> Void = {
            defer { flight.end() }
            do { try snap.write(to: path) } catch { flight.failure = "\(error)" }
        }
        if wait {
            write()
            if let f = flight.takeFailure() {
                onEvent(.notice(kind: "baseline-save-failed", message: "the baseline could not be saved: \(f)"))
            } else {
                onEvent(.notice(kind: "baseline-saved", message: "baseline saved to \(path)"))
            }
        } else {
            if let f = flight.takeFailure() {
                onEvent(.notice(kind: "baseline-save-failed", message: "the baseline could not be saved: \(f)"))
            }
            Thread { write() }.start()
        }
    }
}

/// One baseline save at a time, and the last failure for the loop to report.
final class SaveFlight: @unchecked Sendable {
    private let lock = NSCondition()
    private var busy = false
    private var lastFailure: String?

    var failure: String? {
        get { lock.withLock { lastFailure } }
        set { lock.withLock { lastFailure = newValue } }
    }

    func begin() -> Bool {
        lock.withLock {
            if busy { return false }
            busy = true
            return true
        }
    }

    func end() {
        lock.withLock {
            busy = false
            lock.broadcast()
        }
    }

    func waitUntilIdle() {
        lock.lock()
        while busy { lock.wait() }
        lock.unlock()
    }

    func takeFailure() -> String? { lock.withLock { defer { lastFailure = nil }; return lastFailure } }
}
