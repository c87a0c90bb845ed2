/// Mean and spread of a stream of numbers (Welford), for self-calibration.
struct RunningStats: Sendable {
    private(set) var count = 0
    private(set) var mean = 0.0
    private var m2 = 0.0
    private(set) var max = -Double.infinity

    mutating func add(_ x: Double) {
        count += 1
        let d = x - mean
        mean += d / Double(count)
        m2 += d * (x - mean)
        if x > max { max = x }
    }

    var standardDeviation: Double { count > 1 ? (m2 / Double(count - 1)).squareRoot() : 0 }
}
