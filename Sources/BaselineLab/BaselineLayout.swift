import Foundation
import Lab

/// Where one baseline lab lives: the Holon lab it stands on, the private directory that holds
/// every config, data file, socket, pid file and log of its daemons, and the addresses its
/// people leave from. ``standard`` is `holon baseline up`'s; tests make their own with
/// ``scratch(tag:)`` so they never touch it.
public struct BaselineLayout: Sendable, Hashable, Codable {
    public var topology: LabTopology
    /// Private root: nothing of the host's nginx, php-fpm, MariaDB or WordPress configuration
    /// is read or written, only what is under here.
    public var root: String
    /// How many people (each its own source address).
    public var people: Int
    /// First Squid port; person `i` (0-based) is `proxyBasePort + i`.
    public var proxyBasePort: Int
    /// First WebDriver server port (drivers listen on loopback in the generator namespace).
    public var driverBasePort: Int
    /// X display for WebKitGTK, which has no headless mode of its own here.
    public var display: Int

    public init(topology: LabTopology, root: String, people: Int = 23, proxyBasePort: Int = 40001,
                driverBasePort: Int = 44440, display: Int = 77) {
        self.topology = topology
        self.root = root
        self.people = people
        self.proxyBasePort = proxyBasePort
        self.driverBasePort = driverBasePort
        self.display = display
    }

    public static let standard = BaselineLayout(topology: .standard, root: "/var/lib/holon-baseline")

    /// A private baseline for a test: its own lab namespaces and root directory.
    public static func scratch(tag: String) -> BaselineLayout {
        BaselineLayout(topology: .scratch(prefix: "hbl", tag: tag), root: "/var/lib/holon-baseline-\(tag)",
                       display: 78 + tag.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) % 100 })
    }

    /// The web server's address (the filter side of the veth pair).
    public var siteAddress: String { Self.host(topology.filterAddress) }

    /// The generator side's own address (not a person's).
    public var generatorAddress: String { Self.host(topology.generatorAddress) }

    /// Person `i`'s source address: `.101`, `.102`, … in the lab's /24, so the filter sees a
    /// population of clients and nginx logs each of them.
    public func personAddress(_ i: Int) -> String {
        let octets = generatorAddress.split(separator: ".")
        return octets.prefix(3).joined(separator: ".") + ".\(101 + i)"
    }

    public func proxyPort(_ i: Int) -> Int { proxyBasePort + i }

    static func host(_ cidr: String) -> String { String(cidr.split(separator: "/").first ?? "") }

    // Paths, all under `root`.
    public var etc: String { root + "/etc" }
    public var run: String { root + "/run" }
    public var logs: String { root + "/log" }
    public var mysqlData: String { root + "/mysql" }
    public var wpContent: String { root + "/wp-content" }
    public var wpConfigDirectory: String { root + "/wordpress-etc" }
    public var mysqlRun: String { run + "/mysql" }
    public var mysqlSocket: String { mysqlRun + "/mysqld.sock" }
    public var phpSocket: String { run + "/php-fpm.sock" }
    public var accessLog: String { logs + "/access.log" }
    public var stateFile: String { root + "/baseline.json" }
}
