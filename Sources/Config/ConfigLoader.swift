import Foundation
import Packets
import Yams

/// Reads a ``HolonConfig`` from YAML. Every key is known or an error, and every error names
/// the file, line and column of the value at fault (Yams keeps each node's position, which is
/// why the configuration is YAML).
///
/// ```yaml
/// interfaces:
///   - name: eth0            # netns: NAME, generic: true
/// protected: [198.51.100.0/24, 2001:db8::/48]
/// allowlist: [192.0.2.53]
/// static_rules: /etc/holon/static.rules
/// observe: false
/// run: {sample_every: 100, warmup: 10s, hold: 10s, max_rules: 64, dry_run: false}
/// http: {listen: 127.0.0.1:9477, token_env: HOLON_TOKEN}    # listen: off for none
///   # tls: {certificate: /etc/holon/cert.pem, key: /etc/holon/key.pem}
/// log: text                 # or json
/// baseline: {directory: /var/lib/holon, max_age: 24h}
/// ```
public enum ConfigLoader {
    /// `holon run --bgp FILE`: a file holding the `bgp` section's keys at its top.
    public static func loadBGP(path: String) throws(ConfigError) -> HolonConfig.BGP {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: 0, column: 0, FileManager.default.fileExists(atPath: path) ? "cannot be read as UTF-8 text" : "the BGP configuration file does not exist")
        }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch let e as YamlError { throw syntaxError(e, file: path) } catch {
            throw ConfigError(file: path, line: 0, column: 0, "\(error)")
        }
        guard let root else { return HolonConfig.BGP() }
        return try Reader(file: path, environment: [:]).bgp(root)
    }

    public static func load(path: String) throws(ConfigError) -> HolonConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            let why = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw ConfigError(file: path, line: 0, column: 0, "the configuration file \(why)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: 0, column: 0, "not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> HolonConfig {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch let e as YamlError {
            throw syntaxError(e, file: file)
        } catch {
            throw ConfigError(file: file, line: 0, column: 0, "\(error)")
        }
        var config = HolonConfig()
        config.source = file
        guard let root else { return config }   // an empty file: the defaults
        let r = Reader(file: file, environment: environment)
        try r.read(root, into: &config)
        return config
    }

    static func syntaxError(_ e: YamlError, file: String) -> ConfigError {
        switch e {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let ctx = context.map { "\($0.text) " } ?? ""
            return ConfigError(file: file, line: mark.line, column: mark.column, "YAML: \(ctx)\(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigError(file: file, line: context.mark.line, column: context.mark.column,
                               "duplicate key \(duplicates.joined(separator: ", "))")
        default:
            return ConfigError(file: file, line: 0, column: 0, "YAML: \(e)")
        }
    }
}

/// The walk over the YAML tree: one method per section, each key checked against its list.
struct Reader {
    let file: String
    let environment: [String: String]

    func error(_ node: Node, _ message: String) -> ConfigError {
        ConfigError(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0, message)
    }

    /// The pairs of a mapping, with every key one of `known`.
    func mapping(_ node: Node, _ what: String, known: [String]) throws(ConfigError) -> [(String, Node, Node)] {
        guard case .mapping(let m) = node else { throw error(node, "\(what) must be a mapping of keys to values") }
        var out: [(String, Node, Node)] = []
        for (k, v) in m {
            guard let key = k.string else { throw error(k, "a key of \(what) must be text") }
            guard known.contains(key) else {
                throw error(k, "unknown key '\(key)' in \(what) (known: \(known.joined(separator: ", ")))")
            }
            out.append((key, k, v))
        }
        return out
    }

    func scalar(_ node: Node, _ key: String) throws(ConfigError) -> String {
        guard case .scalar(let s) = node else { throw error(node, "\(key) must be a single value") }
        return s.string
    }

    func bool(_ node: Node, _ key: String) throws(ConfigError) -> Bool {
        guard case .scalar = node, let b = node.bool else { throw error(node, "\(key) must be true or false") }
        return b
    }

    func int(_ node: Node, _ key: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case .scalar = node, let i = node.int, range.contains(i) else {
            throw error(node, "\(key) must be a whole number in \(range.lowerBound)…\(range.upperBound)")
        }
        return i
    }

    func duration(_ node: Node, _ key: String) throws(ConfigError) -> Duration {
        let text = try scalar(node, key)
        guard let d = DurationText.parse(text) else { throw error(node, "\(key): cannot read duration '\(text)' (\(DurationText.hint))") }
        return d
    }

    func prefixes(_ node: Node, _ key: String) throws(ConfigError) -> [IPPrefix] {
        let items: [Node]
        if case .sequence(let s) = node { items = Array(s) } else { items = [node] }
        var out: [IPPrefix] = []
        for item in items {
            let text = try scalar(item, key)
            guard let p = IPPrefix(text) else { throw error(item, "\(key): '\(text)' is not an address or prefix (e.g. 192.0.2.0/24, 2001:db8::/32)") }
            out.append(p)
        }
        return out
    }

    func read(_ root: Node, into c: inout HolonConfig) throws(ConfigError) {
        let top = ["interfaces", "protected", "allowlist", "static_rules", "observe", "run", "http", "log", "baseline", "bgp"]
        for (key, _, v) in try mapping(root, "the configuration", known: top) {
            switch key {
            case "interfaces": c.interfaces = try interfaces(v)
            case "protected": c.protected = try prefixes(v, key)
            case "allowlist": c.allowlist = try prefixes(v, key)
            case "static_rules": c.staticRules = try scalar(v, key)
            case "observe": c.observe = try bool(v, key)
            case "run": try run(v, into: &c)
            case "http": try http(v, into: &c)
            case "log":
                let text = try scalar(v, key)
                guard let f = HolonConfig.LogFormat(rawValue: text) else { throw error(v, "log must be text or json, not '\(text)'") }
                c.log = f
            case "baseline": try baseline(v, into: &c)
            case "bgp": c.bgp = try bgp(v)
            default: break
            }
        }
    }

    /// `bgp: {gobgp_api: 127.0.0.1:50051, max_announced: 32, observe: false, packet_bytes: 1500,
    /// spare_allowlist: true}`,
    /// or `exabgp_feed: /run/holon/exabgp.cmd` instead of `gobgp_api`.
    func bgp(_ node: Node) throws(ConfigError) -> HolonConfig.BGP {
        var b = HolonConfig.BGP()
        var speaker: String?
        for (key, _, v) in try mapping(node, "bgp", known: ["gobgp_api", "exabgp_feed", "max_announced", "observe", "packet_bytes", "spare_allowlist"]) {
            if key == "gobgp_api" || key == "exabgp_feed" {
                if let s = speaker { throw error(v, "give bgp.gobgp_api or bgp.exabgp_feed, not both (\(s) is given)") }
                speaker = key
            }
            switch key {
            case "exabgp_feed":
                let path = try scalar(v, key)
                guard path.hasPrefix("/") else { throw error(v, "bgp.exabgp_feed must be an absolute path, not '\(path)'") }
                b.exabgpFeed = path
            case "gobgp_api":
                let text = try scalar(v, key)
                guard let colon = text.lastIndex(of: ":"), colon > text.startIndex, let port = Int(text[text.index(after: colon)...]),
                      (1...65535).contains(port) else {
                    throw error(v, "bgp.gobgp_api must be HOST:PORT of gobgpd's API (e.g. 127.0.0.1:50051), not '\(text)'")
                }
                b.gobgpHost = String(text[..<colon])
                b.gobgpPort = port
            case "max_announced": b.maxAnnounced = try int(v, key, 1...10_000)
            case "observe": b.observe = try bool(v, key)
            case "packet_bytes": b.packetBytes = try int(v, key, 20...65535)
            case "spare_allowlist": b.spareAllowlist = try bool(v, key)
            default: break
            }
        }
        return b
    }

    func interfaces(_ node: Node) throws(ConfigError) -> [HolonConfig.Interface] {
        guard case .sequence(let s) = node else { throw error(node, "interfaces must be a list (- name: eth0)") }
        var out: [HolonConfig.Interface] = []
        for item in s {
            var i = HolonConfig.Interface(name: "")
            if case .scalar = item {
                i.name = try scalar(item, "interface")
            } else {
                for (key, _, v) in try mapping(item, "an interface", known: ["name", "netns", "generic"]) {
                    switch key {
                    case "name": i.name = try scalar(v, key)
                    case "netns": i.netns = try scalar(v, key)
                    case "generic": i.generic = try bool(v, key)
                    default: break
                    }
                }
            }
            guard InterfaceName.isValid(i.name) else {
                throw error(item, "'\(i.name)' is not an interface name (\(InterfaceName.rule))")
            }
            guard !out.contains(where: { $0.name == i.name && $0.netns == i.netns }) else {
                throw error(item, "interface \(i.name) is listed twice")
            }
            out.append(i)
        }
        return out
    }

    func run(_ node: Node, into c: inout HolonConfig) throws(ConfigError) {
        let known = ["sample_every", "warmup", "hold", "max_rules", "dry_run", "duration"]
        for (key, _, v) in try mapping(node, "run", known: known) {
            switch key {
            case "sample_every": c.sampleEvery = UInt32(try int(v, key, 1...1_000_000))
            case "warmup": c.warmup = try duration(v, key)
            case "hold": c.hold = try duration(v, key)
            case "max_rules": c.maxRules = try int(v, key, 1...100_000)
            case "dry_run": c.dryRun = try bool(v, key)
            case "duration": c.duration = try duration(v, key)
            default: break
            }
        }
    }

    func http(_ node: Node, into c: inout HolonConfig) throws(ConfigError) {
        var token: (String, Node)?
        for (key, _, v) in try mapping(node, "http", known: ["listen", "token", "token_env", "tls"]) {
            switch key {
            case "listen":
                let text = try scalar(v, key)
                if text == "off" || text == "false" { c.httpListen = nil; continue }
                guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port),
                      colon > text.startIndex else {
                    throw error(v, "http.listen must be HOST:PORT (e.g. 127.0.0.1:9477) or off, not '\(text)'")
                }
                c.httpListen = text
            case "token":
                if token != nil { throw error(v, "give http.token or http.token_env, not both") }
                let t = try scalar(v, key)
                guard t.count >= 16 else { throw error(v, "http.token is too short to guard anything (16 characters at least)") }
                token = (t, v)
            case "token_env":
                if token != nil { throw error(v, "give http.token or http.token_env, not both") }
                let name = try scalar(v, key)
                guard let t = environment[name], !t.isEmpty else { throw error(v, "http.token_env: the environment variable \(name) is not set") }
                token = (t, v)
            case "tls": c.httpTLS = try tls(v)
            default: break
            }
        }
        c.httpToken = token?.0
    }

    /// `{certificate: PATH, key: PATH}`: both, absolute, readable (whether they are PEM that
    /// fit together the control plane checks when it loads them).
    func tls(_ node: Node) throws(ConfigError) -> HolonConfig.TLSFiles {
        var files: [String: String] = [:]
        for (key, _, v) in try mapping(node, "http.tls", known: ["certificate", "key"]) {
            let path = try scalar(v, key)
            guard path.hasPrefix("/") else { throw error(v, "http.tls.\(key) must be an absolute path, not '\(path)'") }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw error(v, "http.tls.\(key) \(path) \(FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist")")
            }
            files[key] = path
        }
        guard let certificate = files["certificate"], let key = files["key"] else {
            throw error(node, "http.tls needs both certificate and key")
        }
        return HolonConfig.TLSFiles(certificate: certificate, key: key)
    }

    func baseline(_ node: Node, into c: inout HolonConfig) throws(ConfigError) {
        for (key, _, v) in try mapping(node, "baseline", known: ["directory", "max_age"]) {
            switch key {
            case "directory":
                let d = try scalar(v, key)
                guard d.hasPrefix("/") else { throw error(v, "baseline.directory must be an absolute path") }
                c.stateDirectory = d
            case "max_age": c.baselineMaxAge = try duration(v, key)
            default: break
            }
        }
    }
}
