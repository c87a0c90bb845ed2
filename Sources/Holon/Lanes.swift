/// The `[Double]` loops of the subspace models, over buffer pointers. Written as array loops
/// (`y[j] = a * y[j] + b * x[j]`), each element re-checked uniqueness and bounds: in the debug
/// builds the tests run in, an `OnlineSubspace` update at d = 64 took ~120 µs, mostly that.
enum Lanes {
    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                var s = 0.0
                for j in 0..<a.count { s += a[j] * b[j] }
                return s
            }
        }
    }

    static func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }

    /// `y ← α·y + β·x`.
    static func blend(_ y: inout [Double], _ alpha: Double, _ beta: Double, _ x: [Double]) {
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                for j in 0..<y.count { y[j] = alpha * y[j] + beta * x[j] }
            }
        }
    }

    /// `y ← y + β·x`.
    static func add(_ y: inout [Double], _ beta: Double, _ x: [Double]) {
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                for j in 0..<y.count { y[j] += beta * x[j] }
            }
        }
    }

    /// `y ← y · α`.
    static func scale(_ y: inout [Double], _ alpha: Double) {
        y.withUnsafeMutableBufferPointer { y in
            for j in 0..<y.count { y[j] *= alpha }
        }
    }

    /// `a − b`.
    static func difference(_ a: [Double], _ b: [Double]) -> [Double] {
        [Double](unsafeUninitializedCapacity: a.count) { out, n in
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    for j in 0..<a.count { out[j] = a[j] - b[j] }
                }
            }
            n = a.count
        }
    }
}
