import Traffic
import Foundation

/// The images editors upload: PNGs drawn from a seed (bands, circles and noise), written with
/// stored (uncompressed) deflate blocks, so no zlib is needed and each upload weighs what a
/// photograph would (640×420 RGB ≈ 800 KB).
enum GeneratedImage {
    static func png(width: Int = 640, height: Int = 420, seed: UInt64) -> Data {
        var rng = SplitMix64(seed: seed)
        let a = (0..<3).map { _ in Double(rng.next() % 256) }, b = (0..<3).map { _ in Double(rng.next() % 256) }
        let circles = (0..<12).map { _ in (Double(rng.next() % UInt64(width)), Double(rng.next() % UInt64(height)),
                                            Double(20 + rng.next() % 120), (0..<3).map { _ in UInt8(rng.next() % 256) }) }
        var raw = Data(capacity: (width * 3 + 1) * height)
        for y in 0..<height {
            raw.append(0)   // filter: none
            let t = Double(y) / Double(height)
            for x in 0..<width {
                var px = (0..<3).map { UInt8(a[$0] * (1 - t) + b[$0] * t) }
                for c in circles where (Double(x) - c.0) * (Double(x) - c.0) + (Double(y) - c.1) * (Double(y) - c.1) < c.2 * c.2 { px = c.3 }
                let noise = UInt8(rng.next() % 24)
                raw.append(px[0] &+ noise); raw.append(px[1] &+ noise); raw.append(px[2] &+ noise)
            }
        }
        var out = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var ihdr = Data()
        ihdr.append(be32(UInt32(width))); ihdr.append(be32(UInt32(height)))
        ihdr.append(contentsOf: [8, 2, 0, 0, 0])   // 8-bit RGB
        out.append(chunk("IHDR", ihdr))
        out.append(chunk("IDAT", zlibStored(raw)))
        out.append(chunk("IEND", Data()))
        return out
    }

    static func be32(_ v: UInt32) -> Data { Data([UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]) }

    static func chunk(_ type: String, _ body: Data) -> Data {
        var d = be32(UInt32(body.count))
        var typed = Data(type.utf8)
        typed.append(body)
        d.append(typed)
        d.append(be32(crc32(typed)))
        return d
    }

    /// zlib stream of stored deflate blocks (at most 65535 bytes each).
    static func zlibStored(_ data: Data) -> Data {
        var out = Data([0x78, 0x01])
        var i = data.startIndex
        while i < data.endIndex {
            let n = min(65535, data.endIndex - i)
            let last: UInt8 = i + n == data.endIndex ? 1 : 0
            out.append(last)
            out.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)])
            out.append(data[i..<(i + n)])
            i += n
        }
        var s1: UInt32 = 1, s2: UInt32 = 0
        for byte in data { s1 = (s1 + UInt32(byte)) % 65521; s2 = (s2 + s1) % 65521 }
        out.append(be32(s2 << 16 | s1))
        return out
    }

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ d: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in d { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
