import ControlPlane
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport
import Testing

/// Issue 10 §8: slow clients, wrong methods, HEAD.
@Suite("Control plane: HTTP hardening", .offPool)
struct HTTPHardeningTests {
    /// 500 slowloris connections (half a request head, or nothing at all) are closed by the
    /// idle timeout, and the server still answers afterwards.
    @Test(.timeLimit(.minutes(2))) func slowClientsAreClosed() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter, idleTimeout: .seconds(1)) { port in try await offPool {
            var fds: [Int32] = []
            defer { for fd in fds { close(fd) } }
            for i in 0..<500 {
                let fd = try RawHTTP.connect(port: port)
                fds.append(fd)
                if i % 2 == 0 { RawHTTP.send(fd, "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ") }
            }
            let started = Date()
            // A slowloris keeps trickling header bytes: that must not keep it open either.
            RawHTTP.send(fds[0], "a")
            var open = 0
            // Up to 20 s: in a full `swift test` the servers of every HTTP suite share one
            // thread with 500 connections here and 64 streams elsewhere; without the idle
            // timeout none of them would ever close.
            for fd in fds where RawHTTP.readUntilClosed(fd, timeout: max(0.1, 20 - Date().timeIntervalSince(started))) == nil { open += 1 }
            #expect(open == 0, "\(open) of 500 slow connections still open 20 s after a 1 s idle timeout")
            let r = try RawHTTP.request(port: port, "GET", "/api/status")
            #expect(r.status == 200)
        } }
    }

    /// A connection that asked nothing is closed; one that asked and was answered is kept for
    /// the next request, then closed when idle too.
    @Test(.timeLimit(.minutes(2))) func keepAliveLastsTheIdleTimeout() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter, idleTimeout: .seconds(1)) { port in try await offPool {
            let fd = try RawHTTP.connect(port: port)
            defer { close(fd) }
            RawHTTP.send(fd, "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let t0 = Date()
            let answer = RawHTTP.readUntilClosed(fd, timeout: 20)   // closed after 1 s idle; 20 s for a loaded machine
            #expect(answer.map { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 200") } == true)
            #expect(Date().timeIntervalSince(t0) >= 0.8, "kept alive for the idle timeout after the answer")
        } }
    }

    /// The idle timeout is for connections without a request: an event stream that has been
    /// quiet for longer than it stays open.
    @Test(.timeLimit(.minutes(2))) func eventStreamsOutliveTheIdleTimeout() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter, idleTimeout: .seconds(1)) { port in
            let fd = try RawHTTP.connect(port: port)
            defer { close(fd) }
            RawHTTP.send(fd, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(try await offPool { RawHTTP.read(fd, until: "syn-flood", timeout: 3) }, "the kept events")
            try await Task.sleep(for: .milliseconds(2500))
            state.record(.notice(kind: "test", message: "still-there"))
            #expect(try await offPool { RawHTTP.read(fd, until: "still-there", timeout: 3) }, "a new event after 2.5 s of quiet")
        }
    }

    /// Event streams are held open by design, so their number is capped: one more is a 503,
    /// and a stream whose client left frees its place.
    @Test(.timeLimit(.minutes(2))) func eventStreamsAreCapped() async throws {
        let state = ControlState(maxStreams: 2)
        for e in attackEvents() { state.record(e) }
        let (_, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in
            func stream() async throws -> Int32 {
                let fd = try RawHTTP.connect(port: port)
                RawHTTP.send(fd, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                return fd
            }
            let first = try await stream(), second = try await stream()
            defer { close(second) }
            #expect(try await offPool { RawHTTP.read(first, until: "syn-flood", timeout: 3) })
            #expect(try await offPool { RawHTTP.read(second, until: "syn-flood", timeout: 3) })
            let third = try await offPool { try RawHTTP.request(port: port, "GET", "/api/events") }
            #expect(third.status == 503)
            #expect(errorText(third.body) == "2 event streams are open already; try again later, or poll /api/events?follow=false")
            close(first)
            try await waitForSubscribers(state, atMost: 1)
            #expect(state.subscriberCount == 1)
            let again = try await stream()
            defer { close(again) }
            #expect(try await offPool { RawHTTP.read(again, until: "syn-flood", timeout: 10) })
        }
    }

    @Test func wrongMethodIs405WithAllow() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in try await offPool {
            let post = try RawHTTP.request(port: port, "POST", "/api/status")
            #expect(post.status == 405)
            #expect(post.headers["allow"] == "GET, HEAD")
            #expect(post.headers["content-type"] == "application/json")
            #expect(errorText(post.body) == "POST is not allowed on /api/status; use GET, HEAD")
            let get = try RawHTTP.request(port: port, "GET", "/api/rules/1000000001/release")
            #expect(get.status == 405)
            #expect(get.headers["allow"] == "POST")
            #expect(try RawHTTP.request(port: port, "DELETE", "/metrics").status == 405)
            #expect(try RawHTTP.request(port: port, "PUT", "/").headers["allow"] == "GET, HEAD")
            // Paths the API does not have stay 404, whatever the method.
            #expect(try RawHTTP.request(port: port, "POST", "/nope").status == 404)
            #expect(try RawHTTP.request(port: port, "GET", "/api/rules/1/2/3").status == 404)
        } }
    }

    @Test func headAnswersLikeGetWithoutABody() async throws {
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter) { port in try await offPool {
            for (path, type) in [("/", "text/html; charset=utf-8"), ("/api/status", "application/json"), ("/api/rules", "application/json"),
                                 ("/metrics", "text/plain; version=0.0.4; charset=utf-8"), ("/api/history", "application/json"),
                                 ("/api/events", "text/event-stream")] {
                let r = try RawHTTP.request(port: port, "HEAD", path)
                #expect(r.status == 200, "HEAD \(path)")
                #expect(r.headers["content-type"] == type, "HEAD \(path)")
                #expect(r.body.isEmpty, "HEAD \(path) has no body")
            }
            #expect(state.subscriberCount == 0, "HEAD /api/events does not subscribe")
            #expect(try RawHTTP.request(port: port, "HEAD", "/nope").status == 404)
        } }
    }
}

/// The one line of an `{"error": …}` answer.
func errorText(_ body: String) -> String? {
    ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any])?["error"] as? String
}
