/// Mean and spread of a stream of numbers (Welford), for self-calibration.
struct RunningStats: Sendable, Equatable {
    private(set) var count = 0
    private(set) var mean = 0.0
    private(set) var m2 = 0.0
    private(set) var max = -Double.infinity

    init() {}

    /// Stats read back from a ``DetectorSnapshot``.
    init(count: Int, mean: Double, m2: Double, max: Double) {
        self.count = count
        self.mean = mean
        self.m2 = m2
        self.max = max
    }

    mutating func add(_ x: Double) {
        count += 1
        let d = x - mean
        mean += d / Double(count)
        m2 += d * (x - mean)
        if x > max { max = x }
    }

    var standardDeviation: Double { count > 1 ? (m2 / Double(count - 1)).squareRoot() : 0 }
}
