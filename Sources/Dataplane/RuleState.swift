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
}
