import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// HTTP/1.1 over a plain socket: what a slow or hostile client does (half a request, nothing at
/// all), and exact answers (a HEAD's empty body, an `Allow` header) that URLSession hides.
enum RawHTTP {
    struct Failure: Error, CustomStringConvertible { var description: String }

    struct Answer {
        var status: Int
        var headers: [String: String]   // lower-cased names
        var body: String
    }

    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            close(fd)
            throw Failure(description: "connect: \(String(cString: strerror(errno)))")
        }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until the server closes the connection or `timeout` passes; nil when it is still open.
    static func readUntilClosed(_ fd: Int32, timeout: TimeInterval) -> Data? {
        let deadline = Date().addingTimeInterval(timeout)
        var got = Data()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return nil }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, Int32(left * 1000) + 1) <= 0 { continue }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return got }   // closed (or reset)
            got.append(contentsOf: buf[0..<n])
        }
    }

    /// Reads until what came holds `text` (true), or the connection closes or `timeout` passes (false).
    static func read(_ fd: Int32, until text: String, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var got = Data()
        var buf = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: got, as: UTF8.self).contains(text) {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return false }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, Int32(left * 1000) + 1) <= 0 { continue }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return false }
            got.append(contentsOf: buf[0..<n])
        }
        return true
    }

    /// One request with `Connection: close`, the whole answer.
    static func request(port: Int, _ method: String, _ path: String, headers: [String: String] = [:], body: String? = nil,
                        timeout: TimeInterval = 5) throws -> Answer {
        let fd = try connect(port: port)
        defer { close(fd) }
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        if ["POST", "PUT", "DELETE"].contains(method) && headers["Content-Length"] == nil && headers["Transfer-Encoding"] == nil {
            text += "Content-Length: \(body?.utf8.count ?? 0)\r\n"
        }
        send(fd, text + "\r\n" + (body ?? ""))
        guard let data = readUntilClosed(fd, timeout: timeout) else { throw Failure(description: "\(method) \(path): no answer in \(timeout) s") }
        return try parse(data)
    }

    /// Reads until what came holds `text`; what came, or nil when the connection closed or
    /// `timeout` passed first.
    static func readUntil(_ fd: Int32, _ text: String, timeout: TimeInterval) -> Data? {
        let deadline = Date().addingTimeInterval(timeout)
        var got = Data()
        var buf = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: got, as: UTF8.self).contains(text) {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return nil }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, Int32(left * 1000) + 1) <= 0 { continue }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return nil }
            got.append(contentsOf: buf[0..<n])
        }
        return got
    }

    /// One answer's status, headers and (dechunked) body.
    static func parse(_ data: Data) throws -> Answer {
        let whole = String(decoding: data, as: UTF8.self)
        guard let split = whole.range(of: "\r\n\r\n") else { throw Failure(description: "no header end in '\(whole)'") }
        let lines = whole[..<split.lowerBound].components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure(description: "bad status line '\(lines[0])'") }
        var fields: [String: String] = [:]
        for l in lines.dropFirst() {
            guard let c = l.firstIndex(of: ":") else { continue }
            fields[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        var body = String(whole[split.upperBound...])
        // A chunked body (the server streams some answers): the chunks' data only.
        if fields["transfer-encoding"] == "chunked" { body = dechunk(body) }
        return Answer(status: status, headers: fields, body: body)
    }

    static func dechunk(_ s: String) -> String {
        var rest = Substring(s), out = ""
        while let eol = rest.range(of: "\r\n"), let size = Int(rest[..<eol.lowerBound], radix: 16), size > 0 {
            let start = eol.upperBound
            let bytes = Array(rest[start...].utf8)
            out += String(decoding: bytes.prefix(size), as: UTF8.self)
            rest = Substring(String(decoding: bytes.dropFirst(size + 2), as: UTF8.self))
        }
        return out
    }
}

/// Runs blocking socket or process code off Swift's cooperative pool: the server under test
/// answers on that pool (two threads on a 2-core machine), which a blocked test would starve.
/// A task executor, not a bare Dispatch hop, so the test's task-locals (which `#expect` reports
/// to) come along.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try body() }
}

/// The servers under test: one serial queue, whose thread is not the cooperative pool's (its
/// jobs never block, so one thread serves them).
final class ServerExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = ServerExecutor()
    private let queue = DispatchQueue(label: "holon-test-server")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let me = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: me) }
    }
}

