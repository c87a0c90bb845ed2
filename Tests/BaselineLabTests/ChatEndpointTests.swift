@testable import BaselineLab
import Foundation
import Glibc
import Testing
import Traffic

/// The chat policy over the wire: a loopback server speaking the part of the OpenAI chat API
/// that Ollama and llama.cpp's server expose (`POST /v1/chat/completions`, a JSON body with
/// `model` and `messages`, an answer in `choices[0].message.content`), so the adapter's request
/// and its reading of the answer are checked as a real endpoint would see them.
@Suite struct ChatEndpointTests {
    /// Answers each connection once with `reply(requestLine, body)`; records what it was sent.
    final class ChatServer: @unchecked Sendable {
        let fd: Int32
        let port: Int
        private let lock = NSLock()
        private var seen: [(line: String, body: Data)] = []
        var requests: [(line: String, body: Data)] { lock.withLock { seen } }

        init(reply: @escaping @Sendable (String, Data) -> (status: Int, body: String)) throws {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = 0
            let bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            try #require(bound == 0 && listen(listener, 8) == 0, "loopback listen: \(String(cString: strerror(errno)))")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) }
            }
            fd = listener
            port = Int(UInt16(bigEndian: addr.sin_port))
            // Weak: the server's end (deinit) shuts the socket down, which ends the accept.
            Thread { [weak self] in
                while true {
                    let c = accept(listener, nil, nil)
                    if c < 0 { return }
                    let (line, body) = Self.readRequest(c)
                    guard let self else { close(c); return }
                    self.lock.withLock { self.seen.append((line, body)) }
                    let (status, text) = reply(line, body)
                    let answer = "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n\(text)"
                    _ = answer.withCString { send(c, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                    close(c)
                }
            }.start()
        }

        deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

        /// The request line and the body (by Content-Length).
        static func readRequest(_ c: Int32) -> (String, Data) {
            var data = Data()
            var buffer = [UInt8](repeating: 0, count: 8192)
            while true {
                let n = recv(c, &buffer, buffer.count, 0)
                if n <= 0 { break }
                data.append(contentsOf: buffer[0..<n])
                guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { continue }
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if data.count - end.upperBound >= length {
                    return (String(head.split(separator: "\r\n").first ?? ""), Data(data[end.upperBound..<(end.upperBound + length)]))
                }
            }
            return ("", Data())
        }
    }

    static func context(kind: Persona.Kind = .reader) -> PolicyContext {
        let p = Persona.cast(readers: kind == .reader ? 1 : 0, editors: kind == .editor ? 1 : 0, seed: 1, engines: [.chromium])[0]
        return PolicyContext(persona: p, previous: .home, pageTitle: "Hello", url: "https://site/", loggedIn: false, onPost: false, step: 3)
    }

    static func answer(_ content: String) -> String {
        #"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"\#(content)"},"finish_reason":"stop"}]}"#
    }

    /// The model's word is the action; the request is what an OpenAI-compatible server expects.
    @Test func theModelsAnswerChoosesTheAction() throws {
        // The Markov policy's own choice for this seed, so the model's must differ to be seen.
        var probe = SplitMix64(seed: 5)
        let markov = MarkovPolicy().next(Self.context(), rng: &probe)
        let wanted: AgentAction = markov == .search ? .paginate : .search
        let server = try ChatServer { _, _ in (200, Self.answer("I would \(wanted.rawValue) next.")) }
        let policy = try ChatPolicy(url: "http://127.0.0.1:\(server.port)", model: "tiny-model", timeout: 5)
        var rng = SplitMix64(seed: 5)
        #expect(policy.next(Self.context(), rng: &rng) == wanted)

        let r = try #require(server.requests.first)
        #expect(r.line == "POST /v1/chat/completions HTTP/1.1")
        let json = try #require(try JSONSerialization.jsonObject(with: r.body) as? [String: Any])
        #expect(json["model"] as? String == "tiny-model")
        #expect(json["stream"] as? Bool == false)
        let messages = try #require(json["messages"] as? [[String: String]])
        #expect(messages.map { $0["role"] } == ["system", "user"])
        // The allowed actions are listed for the model, and only those a reader not on a post may take.
        let system = messages[0]["content"] ?? ""
        #expect(system.contains("search") && system.contains("paginate") && !system.contains("comment") && !system.contains("writePost"), "\(system)")
        #expect(messages[1]["content"]?.contains("Hello") == true)
    }

    /// A base path that already ends in /v1 is kept; an editor not logged in may only log in.
    @Test func anEditorIsAskedOnlyForAllowedActionsAtTheGivenPath() throws {
        let server = try ChatServer { _, _ in (200, Self.answer("writePost")) }
        let policy = try ChatPolicy(url: "http://127.0.0.1:\(server.port)/v1", model: "m", timeout: 5)
        var rng = SplitMix64(seed: 2)
        // "writePost" is not allowed before logging in: the Markov policy decides (login).
        var markovRNG = SplitMix64(seed: 2)
        #expect(policy.next(Self.context(kind: .editor), rng: &rng) == MarkovPolicy().next(Self.context(kind: .editor), rng: &markovRNG))
        #expect(server.requests.first?.line == "POST /v1/chat/completions HTTP/1.1")
    }

    /// A server error or an answer naming no action leaves the choice to the seeded policy.
    @Test func errorsAndNonsenseFallBackToTheSeededPolicy() throws {
        for reply in [(500, #"{"error":"overloaded"}"#), (200, Self.answer("I cannot decide.")), (200, "not json")] {
            let server = try ChatServer { _, _ in reply }
            let policy = try ChatPolicy(url: "http://127.0.0.1:\(server.port)", model: "m", timeout: 5)
            var a = SplitMix64(seed: 11), b = SplitMix64(seed: 11)
            #expect(policy.next(Self.context(), rng: &a) == MarkovPolicy().next(Self.context(), rng: &b), "\(reply)")
            #expect(server.requests.count == 1)
        }
    }
}
