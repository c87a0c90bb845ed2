import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL

/// The dashboard and API over HTTPS: a certificate chain and its private key, both PEM files.
///
/// Read once at start (and checked by `holon config check`): a file that is missing, is not PEM,
/// or a key that does not belong to the certificate stops the start with one line naming the
/// file, before anything listens — a server that came up on plain HTTP instead would hand the
/// API token to anyone on the path.
public struct ControlTLS: Sendable {
    public let certificatePath: String
    public let keyPath: String
    let configuration: TLSConfiguration

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(certificate: String, key: String) throws(LoadError) {
        certificatePath = certificate
        keyPath = key
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
            throw LoadError(description: "TLS certificate \(certificate): not a readable PEM certificate (\(error))")
        }
        guard !chain.isEmpty else { throw LoadError(description: "TLS certificate \(certificate): no certificate in the file") }
        let privateKey: NIOSSLPrivateKey
        do { privateKey = try NIOSSLPrivateKey(file: key, format: .pem) } catch {
            throw LoadError(description: "TLS key \(key): not a readable PEM private key (\(error))")
        }
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        c.minimumTLSVersion = .tlsv12
        configuration = c
        // A key of another certificate fails only at the first handshake; find out now.
        do { _ = try NIOSSLContext(configuration: c) } catch {
            throw LoadError(description: "TLS key \(key) does not go with the certificate \(certificate) (\(error))")
        }
    }

    /// `base` with TLS around it.
    func server(_ base: HTTPServerBuilder) throws -> HTTPServerBuilder {
        try .tls(base, tlsConfiguration: configuration)
    }
}
