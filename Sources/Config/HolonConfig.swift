import Packets

/// What `holon run --config FILE` runs with: every `holon run` flag, plus what an operator of a
/// real server decides once — the interfaces, the networks defended, who is never dropped.
/// Read by ``ConfigLoader`` (YAML); a flag given on the command line wins over its key.
public struct HolonConfig: Sendable, Equatable {
    /// An interface to protect.
    public struct Interface: Sendable, Equatable {
        public var name: String
        /// Its network namespace (nil: the daemon's own).
        public var netns: String?
        /// Force generic (skb) XDP.
        public var generic = false

        public init(name: String, netns: String? = nil, generic: Bool = false) {
            self.name = name
            self.netns = netns
            self.generic = generic
        }
    }

    /// A certificate chain and its private key, PEM files; read by the control plane at start.
    public struct TLSFiles: Sendable, Equatable {
        public var certificate: String
        public var key: String

        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }

    public enum LogFormat: String, Sendable, Equatable, CaseIterable {
        /// One line per event for a person or journald.
        case text
        /// One JSON object per event.
        case json
    }

    /// Empty: the lab's interface.
    public var interfaces: [Interface] = []
    /// The networks Holon defends: only traffic to them is learned and judged, and every rule
    /// it writes is limited to them. Empty: every destination.
    public var protected: [IPPrefix] = []
    /// Sources never dropped: the site's resolvers, BGP peers, monitoring.
    public var allowlist: [IPPrefix] = []
    /// A rule file of the operator's, put in at start and on reload; it changes only its own
    /// rules (`StaticRulesMerge`), never those operators added while holon ran.
    public var staticRules: String?
    /// Count what rules match, drop nothing.
    public var observe = false

    public var sampleEvery: UInt32 = 100
    public var warmup: Duration = .seconds(10)
    public var hold: Duration = .seconds(10)
    public var maxRules = 64
    public var dryRun = false
    /// Stop after this long (nil: run until stopped).
    public var duration: Duration?

    /// HOST:PORT of the dashboard, /metrics and the API; nil: no HTTP server.
    public var httpListen: String? = "127.0.0.1:9477"
    /// Bearer token for the API (required off loopback).
    public var httpToken: String?
    /// Serve HTTPS with these PEM files (nil: plain HTTP).
    public var httpTLS: TLSFiles?
    public var log = LogFormat.text

    /// Where the learned baseline is kept between runs, one directory per interface.
    public var stateDirectory = "/var/lib/holon"
    /// A saved baseline older than this is relearned.
    public var baselineMaxAge: Duration = .seconds(24 * 3600)

    /// Announce rules as BGP Flowspec through gobgpd (nil: no BGP).
    public var bgp: BGP?

    /// The BGP speaker Holon hands its rules to, and the limits on what goes to the network.
    public struct BGP: Sendable, Equatable {
        public var gobgpHost = "127.0.0.1"
        public var gobgpPort = 50051
        /// Speak through ExaBGP instead: the file its API process follows (`tail -F`).
        public var exabgpFeed: String?
        public var maxAnnounced = 32
        /// Log what would be announced, announce nothing.
        public var observe = false
        /// The packet size a rate limit's pps are turned into bytes/s with.
        public var packetBytes = 1500
        /// Routes spare the allowlist: one that could drop an allowlisted source at the routers
        /// is not announced. False for allowlisted sources that never cross them.
        public var spareAllowlist = true

        public init() {}
    }

    /// The file this came from (for messages), nil for defaults.
    public var source: String?

    public init() {}

    /// The default file.
    public static let defaultPath = "/etc/holon/holon.yaml"
}
