import ArgumentParser
import Config
import Dataplane
import ControlPlane
import Foundation
import Packets
import Rules

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check the configuration file holon run --config reads.",
        subcommands: [ConfigCheck.self])
}

struct ConfigCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file (default /etc/holon/holon.yaml): errors as FILE:LINE:COLUMN, exit 1.")
    @Argument(help: "The file.") var path: String?
    @Option(name: .customLong("config"), help: ArgumentHelp("The file, given as holon run takes it.", valueName: "FILE")) var config: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if let path, let config, path != config {
            throw ValidationError("two files given ('\(path)' and --config '\(config)'): check one at a time")
        }
    }

    /// The file checked: the argument, or --config, or the default.
    var file: String { path ?? config ?? HolonConfig.defaultPath }

    func run() throws {
        let c = try checkedConfig(file)
        if json {
            struct BGP: Encodable { var speaker: String; var observe: Bool; var max_announced: Int; var packet_bytes: Int; var spare_allowlist: Bool }
            struct Summary: Encodable {
                var file: String; var interfaces: [String]; var protected: [String]; var allowlist: [String]
                var static_rules: Int; var observe: Bool; var http: String?; var tls: Bool; var token: Bool; var log: String
                var bgp: BGP?
            }
            let rules = try c.staticRules.map { try staticRules($0).count } ?? 0
            let bgp = c.bgp.map { b in
                BGP(speaker: b.exabgpFeed.map { "exabgp:\($0)" } ?? "gobgp:\(b.gobgpHost):\(b.gobgpPort)", observe: b.observe,
                    max_announced: b.maxAnnounced, packet_bytes: b.packetBytes, spare_allowlist: b.spareAllowlist)
            }
            printJSON(Summary(file: file, interfaces: c.interfaces.map { i in (i.netns.map { "\($0):" } ?? "") + i.name },
                                       protected: c.protected.map(\.description), allowlist: c.allowlist.map(\.description),
                                       static_rules: rules, observe: c.observe, http: c.httpListen, tls: c.httpTLS != nil, token: c.httpToken != nil, log: c.log.rawValue,
                                       bgp: bgp))
            return
        }
        let ifs = c.interfaces.isEmpty ? "the lab's holon-in" : c.interfaces.map { $0.name + ($0.netns.map { " (netns \($0))" } ?? "") }.joined(separator: ", ")
        // Not an error (holon run waits for such an interface), but a typo reads the same.
        for i in c.interfaces where geteuid() == 0 && !Dataplane.interfacePresent(.protecting(interface: i.name, namespace: i.netns)) {
            FileHandle.standardError.write("holon config check: warning: \(i.name)\(i.netns.map { " in netns \($0)" } ?? "") is not on this host now: holon run protects the others and attaches it when it appears\n".data(using: .utf8)!)
        }
        print("\(file): ok")
        print("  interfaces   \(ifs)")
        print("  protected    \(c.protected.isEmpty ? "every destination" : c.protected.map(\.description).joined(separator: ", "))")
        print("  allowlist    \(c.allowlist.isEmpty ? "-" : c.allowlist.map(\.description).joined(separator: ", "))")
        if let path = c.staticRules { print("  static rules \(try staticRules(path).count) from \(path)") }
        print("  mode         \(c.observe ? "observe (nothing dropped)" : "enforce")\(c.dryRun ? ", dry run" : "")")
        print("  http         \(c.httpListen.map { $0 + (c.httpTLS != nil ? " HTTPS" : "") + (c.httpToken != nil ? " (token set)" : "") } ?? "off")")
        if let b = c.bgp {
            let speaker = b.exabgpFeed.map { "ExaBGP through \($0)" } ?? "gobgpd at \(b.gobgpHost):\(b.gobgpPort)"
            print("  bgp          \(speaker): \(b.observe ? "observe (nothing announced)" : "at most \(b.maxAnnounced) routes")"
                  + ", rate limits at \(b.packetBytes) bytes a packet, " + (b.spareAllowlist ? "routes spare the allowlist" : "routes do not spare the allowlist"))
            // What an operator otherwise learns from the first incident's refusal: most flood
            // rules name no source, so with an allowlist they stay in the host's filter.
            if b.spareAllowlist && !c.allowlist.isEmpty {
                FileHandle.standardError.write("holon config check: note: a Flowspec route that could drop an allowlisted source is not announced (most flood rules name no source); bgp.spare_allowlist: false if the allowlisted sources never cross the routers\n".data(using: .utf8)!)
            }
            // Not an error (the loop runs without Flowspec), but the routers would get nothing.
            if c.protected.isEmpty {
                FileHandle.standardError.write("holon config check: warning: bgp is set but protected is empty: no Flowspec route is announced without protected destinations\n".data(using: .utf8)!)
            }
        }
    }
}

/// The configuration file read and checked as `holon run` would use it: the YAML, the static
/// rule file it names, and that an API reachable off loopback has a token.
func checkedConfig(_ path: String) throws -> HolonConfig {
    let c: HolonConfig
    do { c = try ConfigLoader.load(path: path) } catch { throw InputError(error.description) }
    if c.protected.count > 32 { throw InputError("\(path): at most 32 protected prefixes (\(c.protected.count) given): summarise them") }
    if let listen = c.httpListen, c.httpToken == nil {
        let host = String(listen[..<(listen.lastIndex(of: ":") ?? listen.endIndex)])
        if !ControlAccess.isLoopback(host: host) {
            throw InputError("\(path): http.listen \(listen) is reachable off this host: set http.token or http.token_env")
        }
    }
    if let rules = c.staticRules { _ = try staticRules(rules) }
    if let files = c.httpTLS { _ = try controlTLS(files) }
    // For root only: Holon runs as root, and another user's permissions are not the ones that count.
    if geteuid() == 0, let why = unwritableDirectory(c.stateDirectory) {
        throw InputError("\(path): baseline.directory \(c.stateDirectory) \(why): the learned baseline could not be kept between runs")
    }
    return c
}

/// Why `dir` could not be created or written, as far as can be told without creating anything:
/// the nearest part of it that exists must be a directory this process may write. (A file
/// system that refuses new entries only when asked, such as /proc, is told by `holon run`'s
/// first probe, at start.)
func unwritableDirectory(_ dir: String) -> String? {
    var path = dir
    while !path.isEmpty {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if !isDir.boolValue { return path == dir ? "is not a directory" : "cannot be created: \(path) is not a directory" }
            guard access(path, W_OK | X_OK) == 0 else {
                let why = String(cString: strerror(errno))
                return path == dir ? "is not writable (\(why))" : "cannot be created in \(path) (\(why))"
            }
            return nil
        }
        path = (path as NSString).deletingLastPathComponent
    }
    return nil
}

/// The certificate and key loaded as the control plane serves them, or one line saying why not.
func controlTLS(_ files: HolonConfig.TLSFiles) throws -> ControlTLS {
    do { return try ControlTLS(certificate: files.certificate, key: files.key) } catch { throw InputError(error.description) }
}

/// An operator's static rule file (checked as `holon rules load` checks it).
func staticRules(_ path: String) throws -> [Rule] {
    // Read as `holon rules load` reads a file, so the error says why ("cannot be read" did not).
    let text = try readRuleText(path)
    return try operatorRules(text, source: path, matchAll: false, allowEmpty: true)
}
