import Foundation
import Glibc
import Lab

/// A small blocking HTTP/1.1 client whose sockets can be made inside a network namespace.
///
/// The WebDriver servers run in the generator's namespace (the browsers they start must be
/// there to reach Squid), so their loopback port is not reachable from `holon`'s namespace; a
/// socket created after `setns` stays in that namespace, which is what this client does. One
/// connection per request: on loopback a connect costs microseconds, and no stale keep-alive
/// connection can ever be reused.
public struct HTTPEndpoint: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// Network namespace to connect from (nil: this process's own).
    public var namespace: String?

    public init(host: String, port: Int, namespace: String? = nil) {
        self.host = host
        self.port = port
        self.namespace = namespace
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data
}

public enum HTTPClient {
    /// Sends one request and reads the whole response; `timeout` bounds each read and write.
    public static func request(_ endpoint: HTTPEndpoint, method: String, path: String, body: Data? = nil,
                               headers: [String: String] = [:], timeout: Double = 120) throws(BaselineError) -> HTTPResponse {
        let fd = try connect(endpoint, timeout: timeout)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(endpoint.host):\(endpoint.port)\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        var out = Data(head.utf8)
        if let body { out.append(body) }
        let sendError: String? = out.withUnsafeBytes { (p: UnsafeRawBufferPointer) -> String? in
            var sent = 0
            while sent < p.count {
                let n = send(fd, p.baseAddress! + sent, p.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { return String(cString: strerror(errno)) }
                sent += n
            }
            return nil
        }
        if let sendError { throw .http("send to \(endpoint.host):\(endpoint.port): \(sendError)") }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw .http("read from \(endpoint.host):\(endpoint.port): \(errno == EAGAIN ? "no answer in \(Int(timeout)) s" : String(cString: strerror(errno)))")
            }
            data.append(buffer, count: n)
            if let r = complete(data) { return r }
        }
        guard let r = complete(data, closed: true) else { throw .http("incomplete response from \(endpoint.host):\(endpoint.port)") }
        return r
    }

    /// A JSON request with a JSON answer (any status; the caller reads errors from the body).
    public static func json(_ endpoint: HTTPEndpoint, method: String, path: String, body: Any? = nil,
                            headers: [String: String] = [:], timeout: Double = 120) throws(BaselineError) -> (status: Int, value: Any?) {
        var data: Data?
        if let body {
            do { data = try JSONSerialization.data(withJSONObject: body) } catch { throw .http("cannot encode request: \(error)") }
        }
        var h = headers
        if data != nil { h["Content-Type"] = "application/json; charset=utf-8" }
        let r = try request(endpoint, method: method, path: path, body: data, headers: h, timeout: timeout)
        let value = r.body.isEmpty ? nil : try? JSONSerialization.jsonObject(with: r.body, options: [.fragmentsAllowed])
        return (r.status, value)
    }

    static func connect(_ e: HTTPEndpoint, timeout: Double) throws(BaselineError) -> Int32 {
        func open() throws(BaselineError) -> Int32 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw .http("socket: \(String(cString: strerror(errno)))") }
            var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(e.port).bigEndian)
            guard inet_pton(AF_INET, e.host, &addr.sin_addr) == 1 else { close(fd); throw .http("not an IPv4 address: \(e.host)") }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if rc != 0 {
                let why = String(cString: strerror(errno))
                close(fd)
                throw .http("connect to \(e.host):\(e.port)\(e.namespace.map { " in \($0)" } ?? ""): \(why)")
            }
            return fd
        }
        guard let ns = e.namespace else { return try open() }
        do {
            return try NetworkNamespace(ns).run { try open() }
        } catch let error as BaselineError { throw error } catch { throw .http("entering namespace \(ns): \(error)") }
    }

    /// The response in `data`, if it is all there (by Content-Length, chunked end, or close).
    static func complete(_ data: Data, closed: Bool = false) -> HTTPResponse? {
        guard let split = data.range(of: Data("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: data[data.startIndex..<split.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        var headers: [String: String] = [:]
        for l in lines {
            guard let c = l.firstIndex(of: ":") else { continue }
            headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        let rest = data[split.upperBound...]
        if let len = headers["content-length"].flatMap(Int.init) {
            guard rest.count >= len else { return nil }
            return HTTPResponse(status: status, headers: headers, body: Data(rest.prefix(len)))
        }
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            var body = Data()
            var i = rest.startIndex
            while true {
                guard let eol = rest[i...].range(of: Data("\r\n".utf8)) else { return nil }
                guard let size = Int(String(decoding: rest[i..<eol.lowerBound], as: UTF8.self).split(separator: ";").first ?? "", radix: 16) else { return nil }
                let start = eol.upperBound
                if size == 0 { return HTTPResponse(status: status, headers: headers, body: body) }
                guard rest.distance(from: start, to: rest.endIndex) >= size + 2 else { return nil }
                let end = rest.index(start, offsetBy: size)
                body.append(rest[start..<end])
                i = rest.index(end, offsetBy: 2)
            }
        }
        return closed ? HTTPResponse(status: status, headers: headers, body: Data(rest)) : nil
    }
}
