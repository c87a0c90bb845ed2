import Foundation

/// JSON on one line, keys sorted: what every `--json` prints.
func printJSON<T: Encodable>(_ value: T) {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    print(String(decoding: try! e.encode(value), as: UTF8.self))
}

/// Standard output in blocks of 64 KiB: a million lines through `print` took a lock and a
/// write each.
struct BufferedOutput {
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func write<S: Sequence>(bytes: S) where S.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        fflush(nil)   // what `print` buffered goes first (every stream: stdout cannot be named safely)
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}

/// `items` as one JSON array (keys sorted, as ``printJSON(_:)``), encoded a thousand at a time:
/// a table of a million rules as one document took 2.9 GB and 21 s.
func printJSONArray<T: Encodable>(_ items: [T]) {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    var out = BufferedOutput()
    out.write("[")
    for start in stride(from: 0, to: items.count, by: 1_000) {
        let chunk = try! e.encode(Array(items[start..<min(start + 1_000, items.count)]))
        if start > 0 { out.write(",") }
        out.write(bytes: chunk.dropFirst().dropLast())   // the chunk's elements, without its brackets
    }
    out.write("]\n")
    out.flush()
}
