import ControlPlane
import Foundation
import TestSupport
import Testing

/// Issue 11 §5: the control plane over HTTPS from certificate files, checked with curl (a client
/// that verifies the chain against the test's own CA-less self-signed certificate).
@Suite("Control plane: TLS", .offPool, .enabled(if: Tools.found("openssl") && Tools.found("curl")))
struct TLSTests {
    /// A self-signed certificate for 127.0.0.1 and its key, in a fresh directory.
    static func certificate(in dir: String, name: String) throws -> (cert: String, key: String) {
        let cert = "\(dir)/\(name).pem", key = "\(dir)/\(name).key"
        let r = try Tools.run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                          "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=holon-test",
                                          "-addext", "subjectAltName=IP:127.0.0.1"])
        try #require(r.status == 0, "openssl: \(r.err)")
        return (cert, key)
    }

    static func scratch() throws -> String {
        let d = NSTemporaryDirectory() + "holon-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test(.timeLimit(.minutes(1))) func servesHTTPSAndOnlyHTTPS() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (cert, key) = try Self.certificate(in: dir, name: "server")
        let tls = try ControlTLS(certificate: cert, key: key)
        let (state, filter) = filled()
        try await withControlServer(state: state, filter: filter, tls: tls) { port in try await offPool {
            // Verified against the certificate itself: a wrong chain or name would fail here.
            let ok = try Tools.run("curl", ["-sS", "--max-time", "10", "--cacert", cert, "-o", "/dev/null", "-w", "%{http_code}",
                                            "https://127.0.0.1:\(port)/api/status"])
            #expect(ok.out == "200", "curl over TLS: \(ok.out) \(ok.err)")
            // Plain HTTP to the TLS port gets no answer a client could take for the API's.
            let plain = try Tools.run("curl", ["-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
                                               "http://127.0.0.1:\(port)/api/status"])
            #expect(plain.out != "200", "plain HTTP was answered on the TLS port")
            // Nor does a client that does not trust the certificate get through.
            let untrusted = try Tools.run("curl", ["-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
                                                   "https://127.0.0.1:\(port)/api/status"])
            #expect(untrusted.status != 0 && untrusted.out != "200")
        } }
    }

    /// What an operator gets wrong is refused at start, in one line naming the file.
    @Test func badFilesAreOneLineErrors() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (cert, key) = try Self.certificate(in: dir, name: "a")
        let (_, otherKey) = try Self.certificate(in: dir, name: "b")
        func failure(_ c: String, _ k: String) -> String? {
            do { _ = try ControlTLS(certificate: c, key: k); return nil } catch { return error.description }
        }
        let missing = failure(dir + "/none.pem", key)
        #expect(missing?.contains("none.pem") == true)
        let notPEM = failure(key, key)      // a key where the certificate should be
        #expect(notPEM?.contains("TLS certificate \(key)") == true)
        let mismatched = failure(cert, otherKey)
        #expect(mismatched?.contains("does not go with") == true, "\(mismatched ?? "accepted")")
        for m in [missing, notPEM, mismatched] { #expect(m?.contains("\n") == false) }
    }
}
