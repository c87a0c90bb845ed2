#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The few libm functions Holon needs, without Foundation.
@usableFromInline enum Math {
    @inlinable static func exp2(_ x: Double) -> Double { Glibc.exp2(x) }
    @inlinable static func log10(_ x: Double) -> Double { Glibc.log10(x) }
    @inlinable static func pow10(_ x: Double) -> Double { Glibc.pow(10, x) }
    @inlinable static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inlinable static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inlinable static func log2(_ x: Double) -> Double { Glibc.log2(x) }
}
