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

/// The step a command is at, on stderr while it runs (a terminal only): a rule command on a
/// 2M-rule table takes 20 s, reading the file, the filter's table, then installing, and said
/// nothing until it was done.
enum Stage {
    static let enabled = isatty(2) != 0

    static func run<T>(_ what: String, _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        FileHandle.standardError.write("\r\u{1B}[2K\(what)…".data(using: .utf8)!)
        defer { FileHandle.standardError.write("\r\u{1B}[2K".data(using: .utf8)!) }
        return try body()
    }
}
