import Foundation
import Rules

/// The installed rules as rule-language text in the state directory: bpffs holds only BPF
/// objects, and the maps hold the compiled form, so this is how a later process lists and
/// amends the table. Written atomically (temp file + rename).
enum RuleState {
    static func read(_ o: DataplaneOptions) throws(DataplaneError) -> [Rule] {
        guard let text = try? String(contentsOfFile: o.stateFile, encoding: .utf8) else { return [] }
        do { return try RuleFile.parse(text) } catch { throw .stateFile("\(o.stateFile): \(error)") }
    }

    static func write(_ rules: [Rule], _ o: DataplaneOptions) throws(DataplaneError) {
        do {
            try FileManager.default.createDirectory(atPath: o.stateDirectory, withIntermediateDirectories: true)
            let tmp = o.stateFile + ".tmp"
            try RuleFile.print(rules).write(toFile: tmp, atomically: false, encoding: .utf8)
            guard rename(tmp, o.stateFile) == 0 else { throw DataplaneError.stateFile("renaming \(tmp): errno \(errno)") }
        } catch let e as DataplaneError {
            throw e
        } catch {
            throw .stateFile("\(o.stateFile): \(error)")
        }
    }

    /// Runs `body` holding an exclusive lock on the state file's lock file, so that
    /// read–change–install sequences of several processes (a sidecar, `holon rules add`) run one
    /// after the other instead of overwriting each other's rules.
    static func locked<T>(_ o: DataplaneOptions, _ body: () throws(DataplaneError) -> T) throws(DataplaneError) -> T {
        try? FileManager.default.createDirectory(atPath: o.stateDirectory, withIntermediateDirectories: true)
        let path = o.stateFile + ".lock"
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .stateFile("\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw .stateFile("locking \(path): \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
