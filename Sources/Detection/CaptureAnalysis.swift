import Packets

/// The detector over a capture file: what `holon analyze` prints.
public struct CaptureAnalysis: Sendable {
    public var packets = 0
    /// Packets that are not IP, or whose headers are broken (skipped, counted).
    public var unparsable = 0
    public var firstTimestamp: UInt64?
    public var lastTimestamp: UInt64 = 0
    public var warmedUp = false
    public var incidents: [Incident] = []
    /// Drift crossings that faded with nothing to blame (not incidents).
    public var unexplainedCrossings = 0
    /// Why reading stopped early (a truncated file, a corrupt record), or nil at a clean end.
    public var stoppedBy: CaptureError?

    public var duration: Double { Double(lastTimestamp &- (firstTimestamp ?? lastTimestamp)) / 1e9 }

    /// Reads the whole capture (or up to the first error, keeping what came before it).
    public static func run(path: String, config: DetectorConfig,
                           progress: (Int) -> Void = { _ in }) throws(CaptureError) -> CaptureAnalysis {
        let reader = try CaptureReader(path: path)
        var result = CaptureAnalysis()
        var detector = Detector(config: config)
        do {
            while let p = try reader.next() {
                result.packets += 1
                if result.packets & 0xFFFF == 0 { progress(result.packets) }
                guard let f = try? p.features() else {
                    result.unparsable += 1
                    continue
                }
                if result.firstTimestamp == nil { result.firstTimestamp = f.timestamp }
                result.lastTimestamp = max(result.lastTimestamp, f.timestamp)
                detector.ingest(f)
            }
        } catch {
            result.stoppedBy = error
        }
        detector.advance(to: result.lastTimestamp)
        detector.refreshEstimates()
        result.warmedUp = detector.isWarmedUp
        // A crossing still waiting for attribution when the capture ends is not an incident yet.
        result.incidents = detector.incidents.filter(\.announced)
        result.unexplainedCrossings = detector.unexplainedCrossings
        return result
    }
}
