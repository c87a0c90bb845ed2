import Foundation

/// A progress line on stderr (only when stderr is a terminal), so stdout stays clean for tables
/// and JSON.
final class Progress {
    let total: Int
    let label: String
    let enabled = isatty(2) != 0
    let started = Date()

    init(total: Int, label: String) {
        self.total = total
        self.label = label
    }

    func update(_ done: Int) {
        guard enabled else { return }
        let pct = total > 0 ? Double(done) / Double(total) * 100 : 0
        let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
        FileHandle.standardError.write(String(format: "\r%@: %.0f%% (%d packets, %.1f M/s)", label, pct, done, rate / 1e6).data(using: .utf8)!)
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write("\r\u{1B}[2K".data(using: .utf8)!)
    }
}
