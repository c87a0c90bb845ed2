#if canImport(Glibc)
import Glibc
#endif
import Packets

/// One input drives both halves of the module that read untrusted bytes: the frame parser (as
/// every link type, whole and as if cut by a snaplen) and the capture readers (the input as a
/// file, read through a tiny buffer so refills and growth are exercised).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    for linkType in [LinkType.ethernet, .raw, .ipv4, .ipv6, .linuxSLL, .linuxSLL2] {
        for wire in [size, size + 1500] {
            var f = PacketFeatures()
            if let layers = try? PacketParser.parse(bytes, linkType: linkType, wireLength: wire, into: &f) {
                _ = try? PacketParser.dns(bytes, layers, f)
                precondition(layers.end <= size && layers.payloadOffset <= size + 1)
                _ = f.value(of: "src_port")
                _ = f.srcIP.description
            }
        }
    }
    readAsCapture(bytes)
    return 0
}

private let capturePath = "/dev/shm/holon-fuzz-\(getpid()).cap"

private func readAsCapture(_ bytes: UnsafeRawBufferPointer) {
    let fd = open(capturePath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return }
    if let base = bytes.baseAddress, bytes.count > 0 { _ = write(fd, base, bytes.count) }
    close(fd)
    for bufferSize in [16, 1 << 16] {
        guard let reader = try? CaptureReader(path: capturePath, bufferSize: bufferSize) else { return }
        var n = 0
        do {
            while let p = try reader.next() {
                n += 1
                precondition(p.bytes.count <= bytes.count)
                _ = try? p.features()
                if n > 100_000 { break }
            }
        } catch {
            precondition(error.packetsRead == n)
        }
    }
}
