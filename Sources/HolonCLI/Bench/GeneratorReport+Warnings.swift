import Foundation
import Generator

extension GeneratorReport {
    /// A benchmark's numbers assume the traffic it planned: when the generator did not hold its
    /// rate or the frames did not arrive, the benchmark says so on stderr beside its results.
    func warnIfNotAsPlanned(bench: String) {
        for w in [pacingWarning, deliveryWarning].compactMap({ $0 }) {
            FileHandle.standardError.write("\(bench): warning: generator: \(w)\n".data(using: .utf8)!)
        }
    }
}
