import Foundation
import TestSupport
import Testing

/// `holon config check`, `holon service install` and `holon run`'s refusals, as a user runs them:
/// the built binary next to this test bundle, no root needed.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: Tools.holon)))
struct ServiceAndCommandLineTests {
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) { try Tools.run(Tools.holon, args) }

    func scratch() throws -> String {
        let d = NSTemporaryDirectory() + "holon-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test func serviceInstallWritesTheShippedUnitAndAConfigThatChecks() throws {
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try run(["service", "install", "--root", root])
        #expect(r.status == 0, "\(r.err)")
        let unit = try String(contentsOfFile: root + "/etc/systemd/system/holon.service", encoding: .utf8)
        let shipped = try String(contentsOfFile: repository + "/dist/holon.service", encoding: .utf8)
        #expect(unit == shipped, "dist/holon.service is what install writes")
        #expect(unit.contains("Type=notify") && unit.contains("ExecReload=/bin/kill -HUP $MAINPID"))
        #expect(FileManager.default.isExecutableFile(atPath: root + "/usr/local/bin/holon"))
        let check = try run(["config", "check", root + "/etc/holon/holon.yaml"])
        #expect(check.status == 0, "\(check.err)")
        #expect(check.out.contains("observe"), "the starting configuration only observes")
        // A second install keeps the operator's configuration.
        try "observe: false\n".write(toFile: root + "/etc/holon/holon.yaml", atomically: true, encoding: .utf8)
        #expect(try run(["service", "install", "--root", root]).status == 0)
        #expect(try String(contentsOfFile: root + "/etc/holon/holon.yaml", encoding: .utf8) == "observe: false\n")
        // Under --root (a package built elsewhere) the build host's interface means nothing:
        // the placeholder, said to be one. --interface names the one to protect.
        let other = try scratch()
        defer { try? FileManager.default.removeItem(atPath: other) }
        #expect(try run(["service", "install", "--root", other]).status == 0)
        #expect(try String(contentsOfFile: other + "/etc/holon/holon.yaml", encoding: .utf8).contains("- name: eth0              # the interface attacks arrive on: edit to yours"))
        try FileManager.default.removeItem(atPath: other + "/etc/holon/holon.yaml")
        let named = try run(["service", "install", "--root", other, "--interface", "ens3"])
        #expect(named.status == 0 && named.out.contains("protecting ens3"), "\(named)")
        let config = try String(contentsOfFile: other + "/etc/holon/holon.yaml", encoding: .utf8)
        #expect(config.contains("- name: ens3 "), "\(config)")
        #expect(try run(["config", "check", other + "/etc/holon/holon.yaml"]).out.contains("ens3"))
        let bad = try run(["service", "install", "--root", other, "--interface", "a/b"])
        #expect(bad.status != 0 && bad.err.contains("--interface 'a/b' is not an interface name"), "\(bad)")
        let u = try run(["service", "uninstall", "--root", root])
        #expect(u.status == 0 && !FileManager.default.fileExists(atPath: root + "/etc/systemd/system/holon.service"))
        #expect(FileManager.default.fileExists(atPath: root + "/etc/holon/holon.yaml"), "the configuration stays")
    }

    /// A drop rule under a pass rule (an exception for a resolver, say) was exported as a
    /// Flowspec route on its own: the routers would drop what the host passes.
    @Test func aFlowspecExportLeavesOutARuleWithAnExceptionAboveIt() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        (rule (and (= proto udp) (= src_ip 192.0.2.53)) (pass) :id 1 :priority 200)
        (rule (and (= proto udp) (= dst_port 53) (in dst_ip 198.51.100.0/24)) (drop) :id 2 :priority 100)
        (rule (and (= proto tcp) (= dst_port 22) (in dst_ip 198.51.100.0/24)) (drop) :id 3 :priority 100)
        """.write(toFile: dir + "/t.rules", atomically: true, encoding: .utf8)
        let r = try run(["rules", "export", "--from", dir + "/t.rules", "--flowspec", "gobgp"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("# rule 2 not exported: pass rule(s) 1 above it take some of its packets"), "\(r.out)")
        #expect(r.out.split(separator: "\n").filter { $0.hasPrefix("gobgp ") }.count == 1 && r.out.contains("destination-port '==22'"), "\(r.out)")
        // With an allowlist (the attached filter's, or given): a rule that could drop one of its
        // sources at the routers stays home too, and the nftables ruleset accepts them first.
        let spared = try run(["rules", "export", "--from", dir + "/t.rules", "--flowspec", "gobgp", "--allowlist", "192.0.2.0/24"])
        #expect(spared.out.contains("# rule 3 not exported: it could drop the allowlisted 192.0.2.0/24 at the routers"), "\(spared.out)")
        let nft = try run(["rules", "export", "--from", dir + "/t.rules", "--allowlist", "192.0.2.0/24", "--format", "nftables"])
        #expect(nft.status == 0 && nft.out.contains("ip saddr { 192.0.2.0/24 } counter accept comment \"holon allowlist\""), "\(nft)")
        let bad = try run(["rules", "export", "--from", dir + "/t.rules", "--allowlist", "192.0.2.300"])
        #expect(bad.status == 1 && bad.err.contains("--allowlist: '192.0.2.300' is not an address or prefix"), "\(bad)")
    }

    /// An export to a disk without room for it: refused, and nothing of it left there (the
    /// half-written file beside the destination stayed).
    @Test(.enabled(if: geteuid() == 0, "needs root: mounts a small tmpfs")) func anExportThatDoesNotFitLeavesNothing() throws {
        let dir = try scratch()
        let full = dir + "/full"
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        _ = try Tools.run("mount", ["-t", "tmpfs", "-o", "size=8k", "tmpfs", full])
        defer {
            _ = try? Tools.run("umount", ["-l", full])
            try? FileManager.default.removeItem(atPath: dir)
        }
        try (0..<500).map { "(rule (and (= proto udp) (= src_ip 10.0.\($0 / 256).\($0 % 256)) (= dst_port \($0 + 1))) (drop) :id \($0 + 1))" }
            .joined(separator: "\n").write(toFile: dir + "/t.rules", atomically: true, encoding: .utf8)
        let r = try run(["rules", "export", "--from", dir + "/t.rules", "--format", "nftables", "--out", full + "/t.nft"])
        #expect(r.status == 1 && r.err.contains("cannot write \(full)/t.nft"), "\(r)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: full).isEmpty)
    }

    /// A static_rules file that is not there: "cannot be read" did not say why.
    @Test func aMissingStaticRulesFileIsNamedWithWhy() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "interfaces: [eth0]\nstatic_rules: \(dir)/none.rules\n".write(toFile: dir + "/h.yaml", atomically: true, encoding: .utf8)
        let r = try run(["config", "check", dir + "/h.yaml"])
        #expect(r.status == 1 && r.err.contains("cannot read \(dir)/none.rules: No such file or directory"), "\(r)")
    }

    /// `config check` said nothing of the bgp section: a Flowspec set-up that could announce
    /// nothing (no protected prefixes) read as fine.
    @Test func configCheckShowsFlowspecAndWarnsWhenNothingCouldBeAnnounced() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "interfaces: [eth9]\nallowlist: [192.0.2.53]\nbgp: {gobgp_api: 127.0.0.1:50051, spare_allowlist: false}\n"
            .write(toFile: dir + "/h.yaml", atomically: true, encoding: .utf8)
        let r = try run(["config", "check", dir + "/h.yaml"])
        #expect(r.status == 0 && r.out.contains("bgp          gobgpd at 127.0.0.1:50051: at most 32 routes") && r.out.contains("routes do not spare the allowlist"), "\(r)")
        #expect(r.err.contains("bgp is set but protected is empty: no Flowspec route is announced"), "\(r.err)")
        #expect(!r.err.contains("spare_allowlist: false if"), "spare_allowlist is off here: no note")
        try "interfaces: [eth9]\nprotected: [198.51.100.0/24]\nallowlist: [192.0.2.53]\nbgp: {gobgp_api: 127.0.0.1:50051}\n"
            .write(toFile: dir + "/spare.yaml", atomically: true, encoding: .utf8)
        let spare = try run(["config", "check", dir + "/spare.yaml"])
        #expect(spare.status == 0 && spare.err.contains("a Flowspec route that could drop an allowlisted source is not announced")
                && !spare.err.contains("protected is empty"), "\(spare)")
        let j = try run(["config", "check", dir + "/h.yaml", "--json"])
        #expect(j.out.contains("\"spare_allowlist\":false") && j.out.contains("\"speaker\":\"gobgp:127.0.0.1:50051\""), "\(j.out)")
    }

    @Test func aBadConfigIsOneLineWithItsPlace() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/h.yaml"
        try "run:\n  sample_every: 5\n  hold: forever\n".write(toFile: file, atomically: true, encoding: .utf8)
        // `--config FILE` as `holon run` takes it, too (it was "Unknown option '--config'").
        for args in [["config", "check", file], ["config", "check", "--config", file], ["run", "--config", file]] {
            let r = try run(args)
            #expect(r.status != 0)
            #expect(r.err.contains("\(file):3:9: hold: cannot read duration 'forever'"), "\(args): \(r.err)")
            #expect(r.err.split(separator: "\n").count == 1, "one line: \(r.err)")
        }
    }

    /// A file that cannot be read is bad input, not a bad flag: one line, exit 1. `analyze` and
    /// `scenario export` answered with ArgumentParser's usage text and exit 64.
    @Test func aFileThatCannotBeReadIsOneLine() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let garbage = dir + "/garbage"
        try "not a capture, not JSON".write(toFile: garbage, atomically: true, encoding: .utf8)
        for args in [["analyze", dir + "/none.pcap"], ["analyze", garbage], ["pcap", "info", dir + "/none.pcap"],
                     ["scenario", "export", "--scenario", garbage, "--out", dir + "/x.pcap"],
                     ["scenario", "export", "--builtin", "udp-flood", "--out", dir + "/no/such/dir/x.pcap"]] {
            let r = try run(args)
            #expect(r.status == 1, "\(args): exit \(r.status)")
            #expect(!r.err.contains("Usage"), "\(args): \(r.err)")
            #expect(r.err.split(separator: "\n").count == 1, "\(args): one line: \(r.err)")
        }
    }

    /// A baseline directory that cannot be made is bad configuration: one line naming it
    /// (`holon run` would have learned, then lost it at stop). Checked for root, who runs
    /// Holon: another user's permissions are not the ones that count.
    @Test(.enabled(if: geteuid() == 0)) func aBaselineDirectoryThatCannotBeMadeIsOneLine() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "a file".write(toFile: dir + "/blocker", atomically: true, encoding: .utf8)
        let file = dir + "/h.yaml"
        try "baseline: {directory: \(dir)/blocker/holon}\n".write(toFile: file, atomically: true, encoding: .utf8)
        for args in [["config", "check", file], ["run", "--config", file]] {
            let r = try run(args)
            #expect(r.status == 1, "\(args): exit \(r.status)")
            #expect(r.err.contains("baseline.directory \(dir)/blocker/holon cannot be created: \(dir)/blocker is not a directory"), "\(args): \(r.err)")
            #expect(r.err.split(separator: "\n").count == 1, "\(args): one line: \(r.err)")
        }
        try "baseline: {directory: \(dir)/new/holon}\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try run(["config", "check", file]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: dir + "/new"), "checking creates nothing")
    }

    @Test func anAPIOffThisHostNeedsAToken() throws {
        let r = try run(["run", "--http", "0.0.0.0:9477"])
        #expect(r.status == 64)
        #expect(r.err.contains("reachable off this host"), "\(r.err)")
    }

    /// `http.tls` is checked as the server will load it: a missing file at its key's place, a
    /// key of another certificate in one line naming it; a good pair shows as HTTPS.
    @Test(.enabled(if: Tools.found("openssl"))) func tlsFilesAreCheckedBeforeTheStart() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["a", "b"] {
            let r = try Tools.run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                              "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).pem", "-days", "2", "-subj", "/CN=\(name)"])
            try #require(r.status == 0, "openssl: \(r.err)")
        }
        let file = dir + "/h.yaml"
        func check(_ cert: String, _ key: String) throws -> (status: Int32, out: String, err: String) {
            try "http:\n  listen: 127.0.0.1:9477\n  tls:\n    certificate: \(cert)\n    key: \(key)\n".write(toFile: file, atomically: true, encoding: .utf8)
            return try run(["config", "check", file])
        }
        let good = try check("\(dir)/a.pem", "\(dir)/a.key")
        #expect(good.status == 0 && good.out.contains("127.0.0.1:9477 HTTPS"), "\(good.out)\(good.err)")
        let missing = try check("\(dir)/none.pem", "\(dir)/a.key")
        #expect(missing.status != 0 && missing.err.contains("\(file):4:18: http.tls.certificate \(dir)/none.pem does not exist"), "\(missing.err)")
        let mismatched = try check("\(dir)/a.pem", "\(dir)/b.key")
        #expect(mismatched.status != 0 && mismatched.err.contains("TLS key \(dir)/b.key does not go with"), "\(mismatched.err)")
        #expect(mismatched.err.split(separator: "\n").count == 1, "one line: \(mismatched.err)")
        let half = try run(["run", "--tls-cert", "\(dir)/a.pem"])
        #expect(half.status == 64 && half.err.contains("--tls-cert and --tls-key go together"), "\(half.err)")
    }
}


/// The repository's root, from this file's path.
let repository: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
