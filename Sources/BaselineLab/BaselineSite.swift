import Foundation
import Glibc
import Lab

/// The baseline lab's site and its people's addresses: a real WordPress (Debian's package) on a
/// private MariaDB, php-fpm and nginx in the filter's namespace, and a Squid in the generator's
/// namespace that gives each person an address of their own. Every step is idempotent.
///
/// Why Squid rather than a namespace per person: a browser process lives in one network
/// namespace, so one namespace per person would need one browser process per person, and 23
/// Chromiums do not fit two cores. Behind Squid, each person's session is told its own proxy
/// port, several sessions share a driver, and the connection the filter sees leaves from that
/// person's address (`tcp_outgoing_address` chosen by the port). Squid only relays: caching is
/// off, `Via` and `X-Forwarded-For` are not added, TLS passes through CONNECT untouched.
public struct BaselineSite: Sendable {
    public let layout: BaselineLayout

    public init(_ layout: BaselineLayout = .standard) { self.layout = layout }

    var filterNS: String { layout.topology.filterNamespace }
    var generatorNS: String { layout.topology.generatorNamespace }

    /// Builds whatever is missing; `progress` hears each step.
    @discardableResult
    public func up(progress: (String) -> Void = { _ in }) throws(BaselineError) -> BaselineStatus {
        guard geteuid() == 0 else { throw .notRoot }
        let programs = try Programs.find()
        progress("lab namespaces")
        do { try Lab(layout.topology).up() } catch { throw .commandFailed(command: "lab up", status: 1, output: "\(error)") }
        try makeDirectories()
        var state = BaselineState.load(layout.stateFile) ?? BaselineState(secrets: .make(), seeded: nil)
        try state.save(layout.stateFile)
        let config = SiteConfig(layout: layout, secrets: state.secrets)
        try write(config.nginx, to: layout.etc + "/nginx.conf")
        try write(config.phpFPM, to: layout.etc + "/php-fpm.conf")
        try write(config.wordpress, to: layout.wpConfigDirectory + "/config-\(SiteConfig.wordpressConfigName).php", mode: 0o640, group: "www-data")
        try write(config.squid, to: layout.etc + "/squid.conf")
        try certificate(programs)
        progress("database")
        try database(programs, password: state.secrets.databasePassword)
        progress("php-fpm")
        if Command.livePid(layout.run + "/php-fpm.pid") == nil {
            try Command.daemon(try Command.which("ip", package: "iproute2"),
                               ["netns", "exec", filterNS, "sh", "-c", wordpressMount + "exec " + Command.quote(programs.phpFPM) + " -y " + Command.quote(layout.etc + "/php-fpm.conf")],
                               log: layout.logs + "/php-fpm.out")
            try Command.wait(for: "php-fpm's socket", seconds: 20) { FileManager.default.fileExists(atPath: layout.phpSocket) }
        }
        if state.seeded == nil {
            progress("installing and seeding WordPress")
            state.seeded = try seed(programs)
            try state.save(layout.stateFile)
        }
        progress("nginx")
        if Command.livePid(layout.run + "/nginx.pid") == nil {
            try Command.daemon(try Command.which("ip", package: "iproute2"),
                               ["netns", "exec", filterNS, programs.nginx, "-c", layout.etc + "/nginx.conf", "-p", layout.root + "/"],
                               log: layout.logs + "/nginx.out")
            try Command.wait(for: "nginx", seconds: 10) { Command.livePid(layout.run + "/nginx.pid") != nil }
        }
        progress("person addresses and Squid")
        try addresses()
        if Command.livePid(layout.run + "/squid/squid.pid") == nil {
            try Command.daemon(try Command.which("ip", package: "iproute2"),
                               ["netns", "exec", generatorNS, programs.squid, "-f", layout.etc + "/squid.conf"],
                               log: layout.logs + "/squid.out")
            try Command.wait(for: "Squid", seconds: 20) { Command.livePid(layout.run + "/squid/squid.pid") != nil }
        }
        progress("checking the site")
        var s = status()
        // Squid and php-fpm can need a moment after their pid files appear.
        let deadline = Date().addingTimeInterval(20)
        while !s.isUp && Date() < deadline { usleep(500_000); s = status() }
        guard s.isUp else { throw .notUp("the site (http \(s.httpStatus), https \(s.httpsStatus))") }
        return s
    }

    /// Stops every daemon this lab started (by its pid file, then anything still carrying the
    /// lab's root in its command line, such as browsers left by a killed run), removes the
    /// person addresses and the lab namespaces. `purge` also deletes the data (database, uploads).
    public func down(purge: Bool = false) throws(BaselineError) {
        guard geteuid() == 0 else { throw .notRoot }
        for pidFile in ["nginx.pid", "squid/squid.pid", "php-fpm.pid", "mysql/mariadb.pid"] {
            if let pid = Command.livePid(layout.run + "/" + pidFile) { Command.stop(pid: pid, grace: 20) }
        }
        BrowserFleet(layout: layout).stop()
        LoopWatcher.detach(layout)
        for pid in Command.pids(commandLineContaining: layout.root) { Command.stop(pid: pid, grace: 5) }
        do { try Lab(layout.topology).down() } catch { throw .commandFailed(command: "lab down", status: 1, output: "\(error)") }
        try? FileManager.default.removeItem(atPath: layout.run)
        if purge { try? FileManager.default.removeItem(atPath: layout.root) }
    }

    /// What exists and answers now. Never throws.
    public func status() -> BaselineStatus {
        var s = BaselineStatus()
        s.root = layout.root
        s.siteAddress = layout.siteAddress
        s.lab = Lab(layout.topology).status().isUp
        s.database = Command.livePid(layout.run + "/mysql/mariadb.pid") != nil
        s.php = Command.livePid(layout.run + "/php-fpm.pid") != nil
        s.web = Command.livePid(layout.run + "/nginx.pid") != nil
        s.proxy = Command.livePid(layout.run + "/squid/squid.pid") != nil
        s.seeded = BaselineState.load(layout.stateFile)?.seeded
        if s.lab {
            let out = (try? IPCommand.run(["-n", generatorNS, "-o", "-4", "addr", "show", "dev", layout.topology.generatorInterface])) ?? ""
            s.addresses = (0..<layout.people).filter { out.contains(" \(layout.personAddress($0))/") }.count
            s.httpStatus = probe("http")
            s.httpsStatus = probe("https")
        }
        return s
    }

    /// `GET /` from the generator's side with curl (its status code; 0 when nothing answered).
    func probe(_ scheme: String) -> Int {
        guard let r = try? Command.inNamespace(generatorNS, ["curl", "-sk", "-o", "/dev/null", "-m", "10", "-w", "%{http_code}",
                                                             "\(scheme)://\(layout.siteAddress)/"], check: false) else { return 0 }
        return Int(r.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// Prefix of a shell line that shows WordPress the lab's config directory as /etc/wordpress,
    /// in the mount namespace `ip netns exec` made for this command only.
    var wordpressMount: String {
        "mount --bind \(Command.quote(layout.wpConfigDirectory)) /etc/wordpress && "
    }

    func makeDirectories() throws(BaselineError) {
        let l = layout
        let dirs: [(String, String?)] = [(l.root, nil), (l.etc, nil), (l.run, nil), (l.logs, nil), (l.mysqlRun, "mysql"),
                                         (l.mysqlData, "mysql"), (l.run + "/squid", "proxy"), (l.wpContent, "www-data"),
                                         (l.wpContent + "/uploads", "www-data"), (l.wpConfigDirectory, nil)]
        for (d, owner) in dirs {
            do { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) } catch {
                throw .invalid("cannot create \(d): \(error)")
            }
            chmod(d, 0o755)
            if let owner { try Command.run("/bin/chown", [owner + ":" + owner, d]) }
        }
        // Themes and plugins come from the package; only uploads are the site's own.
        for part in ["themes", "plugins"] {
            let link = l.wpContent + "/" + part
            if (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == nil {
                try? FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/usr/share/wordpress/wp-content/" + part)
            }
        }
        _ = FileManager.default.createFile(atPath: l.logs + "/php-errors.log", contents: nil)
        try Command.run("/bin/chown", ["www-data:www-data", l.logs + "/php-errors.log"])
    }

    func write(_ text: String, to path: String, mode: mode_t = 0o644, group: String? = nil) throws(BaselineError) {
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch { throw .invalid("cannot write \(path): \(error)") }
        chmod(path, mode)
        if let group { try Command.run("/bin/chown", ["root:" + group, path]) }
    }

    /// A self-signed certificate for the site's address, made once.
    func certificate(_ p: Programs) throws(BaselineError) {
        let crt = layout.etc + "/site.crt", key = layout.etc + "/site.key"
        guard !FileManager.default.fileExists(atPath: crt) || !FileManager.default.fileExists(atPath: key) else { return }
        try Command.run(p.openssl, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365", "-keyout", key, "-out", crt,
                                    "-subj", "/CN=\(layout.siteAddress)", "-addext", "subjectAltName=IP:\(layout.siteAddress)"])
        chmod(key, 0o600)
    }

    func database(_ p: Programs, password: String) throws(BaselineError) {
        let l = layout
        if !FileManager.default.fileExists(atPath: l.mysqlData + "/mysql") {
            try Command.run(p.installDB, ["--no-defaults", "--datadir=\(l.mysqlData)", "--user=mysql",
                                          "--auth-root-authentication-method=socket", "--skip-test-db"])
        }
        if Command.livePid(l.mysqlRun + "/mariadb.pid") == nil {
            try Command.spawn(in: filterNS, [p.mariadbd, "--no-defaults", "--datadir=\(l.mysqlData)", "--socket=\(l.mysqlSocket)",
                                             "--pid-file=\(l.mysqlRun)/mariadb.pid", "--user=mysql", "--skip-networking",
                                             "--innodb-buffer-pool-size=64M", "--log-error=\(l.logs)/mariadb.log"],
                              log: l.logs + "/mariadb.out")
        }
        try Command.wait(for: "MariaDB", seconds: 60) {
            (try? Command.run(p.mariadb, ["--no-defaults", "--socket=\(l.mysqlSocket)", "-uroot", "-e", "SELECT 1"], check: false).status) == 0
        }
        let sql = """
        CREATE DATABASE IF NOT EXISTS wordpress CHARACTER SET utf8mb4;
        CREATE USER IF NOT EXISTS 'wordpress'@'localhost' IDENTIFIED BY '\(password)';
        ALTER USER 'wordpress'@'localhost' IDENTIFIED BY '\(password)';
        GRANT ALL ON wordpress.* TO 'wordpress'@'localhost';
        """
        try Command.run(p.mariadb, ["--no-defaults", "--socket=\(l.mysqlSocket)", "-uroot"], input: sql)
    }

    func seed(_ p: Programs) throws(BaselineError) -> SeedSummary {
        let script = layout.etc + "/seed.php", plan = layout.etc + "/seed.json"
        try write(SeedScript.php, to: script)
        let accounts = Accounts.editors() + Accounts.subscribers()
        let planObject: [String: Any] = [
            "host": layout.siteAddress, "config": SiteConfig.wordpressConfigName, "seed": 15,
            "admin": ["login": Accounts.administrator.login, "password": Accounts.administrator.password],
            "accounts": accounts.map { ["login": $0.login, "password": $0.password, "role": $0.role.rawValue, "displayName": $0.displayName] },
        ]
        do { try JSONSerialization.data(withJSONObject: planObject).write(to: URL(fileURLWithPath: plan)) } catch {
            throw .invalid("cannot write \(plan): \(error)")
        }
        // As www-data, so the uploads it makes belong to the site.
        let line = wordpressMount + "exec setpriv --reuid=www-data --regid=www-data --init-groups "
            + Command.quote(p.php) + " " + Command.quote(script) + " " + Command.quote(plan)
        let r = try Command.inNamespace(filterNS, ["sh", "-c", line])
        guard let json = r.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let o = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw .invalid("seeding printed no summary: \(r.output.suffix(300))")
        }
        if o["installed"] as? Bool == false {
            // Installed by an earlier `up` whose state file was lost: count nothing new.
            return SeedSummary(posts: 0, pages: 0, images: 0, categories: 0, comments: 0, editors: 0, subscribers: 0)
        }
        func n(_ k: String) -> Int { o[k] as? Int ?? 0 }
        return SeedSummary(posts: n("posts"), pages: n("pages"), images: n("images"), categories: n("categories"),
                           comments: n("comments"), editors: n("editors"), subscribers: n("subscribers"))
    }

    /// The person addresses on the generator's interface (secondary addresses of its /24).
    func addresses() throws(BaselineError) {
        let t = layout.topology
        let prefix = t.generatorAddress.split(separator: "/").last.map(String.init) ?? "24"
        let present = (try? IPCommand.run(["-n", generatorNS, "-o", "-4", "addr", "show", "dev", t.generatorInterface])) ?? ""
        for i in 0..<layout.people where !present.contains(" \(layout.personAddress(i))/") {
            do { try IPCommand.run(["-n", generatorNS, "addr", "add", "\(layout.personAddress(i))/\(prefix)", "dev", t.generatorInterface]) } catch {
                throw .commandFailed(command: "ip addr add", status: 1, output: "\(error)")
            }
        }
    }
}

/// The Debian programs the site is made of, found once.
struct Programs {
    var nginx, phpFPM, php, mariadbd, mariadb, installDB, squid, openssl: String

    static func find() throws(BaselineError) -> Programs {
        Programs(nginx: try Command.which("nginx", package: "nginx"),
                 phpFPM: try Command.which("php-fpm8.2", package: "php-fpm"),
                 php: try Command.which("php", package: "php-cli"),
                 mariadbd: try Command.which("mariadbd", package: "mariadb-server"),
                 mariadb: try Command.which("mariadb", package: "mariadb-client"),
                 installDB: try Command.which("mariadb-install-db", package: "mariadb-server"),
                 squid: try Command.which("squid", package: "squid"),
                 openssl: try Command.which("openssl", package: "openssl"))
    }
}
