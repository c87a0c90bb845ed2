import Foundation
import Testing
@testable import Packets

/// Replays every input in Corpus/ (fuzzer finds and hand-made edge cases) through the frame
/// parser and the capture readers: each must end in a value or a typed error, never a trap.
@Suite struct CorpusTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    static var files: [URL] {
        (try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil))?
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.path < $1.path } ?? []
    }

    @Test func corpusIsPresent() {
        #expect(Self.files.count >= 3)
    }

    @Test(arguments: files)
    func replay(_ file: URL) throws {
        let bytes = try [UInt8](Data(contentsOf: file))
        for lt in [LinkType.ethernet, .raw, .ipv4, .ipv6, .linuxSLL, .linuxSLL2] {
            _ = parseError(bytes, linkType: lt)
            _ = parseError(bytes, linkType: lt, wireLength: bytes.count + 1500)
        }
        for bufferSize in [16, 1 << 16] {
            guard let r = try? CaptureReader(path: file.path, bufferSize: bufferSize) else { continue }
            var n = 0
            do {
                while let p = try r.next() {
                    n += 1
                    _ = try? p.features()
                }
            } catch {
                #expect(error.packetsRead == n)
            }
        }
    }

    func load(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent(name)))
    }

    @Test func knownOutcomes() throws {
        #expect(parseError(try load("ipv6-long-extension-chain.bin")) == PacketParseError(.ipv6ExtensionChainTooLong, at: 54 + 16 * 8))
        let huge = Self.directory.appendingPathComponent("pcap-huge-record.pcap").path
        let r = try CaptureReader(path: huge)
        #expect(try r.next() != nil)
        #expect(throws: CaptureError(.badRecordLength, offset: 44, packetsRead: 1, path: huge)) { _ = try r.next() }
        let short = Self.directory.appendingPathComponent("pcapng-short-block.pcapng").path
        #expect(throws: CaptureError(.badRecordLength, offset: 32, packetsRead: 0, path: short)) { _ = try CaptureReader(path: short).next() }
        let extreme = Self.directory.appendingPathComponent("pcapng-extreme-tsresol.pcapng").path
        let p = try CaptureReader(path: extreme)
        #expect(try p.next()?.capturedLength == 14)
    }
}
