import Foundation
import Spawn

/// Runs iproute2's `ip`. The lab drives `ip` rather than netlink: it is what an operator would
/// type, and what they can run by hand to see the same state.
public enum IPCommand {
    static let searchPath = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]

    public static func executable() throws(LabError) -> String {
        for p in searchPath where FileManager.default.isExecutableFile(atPath: p) { return p }
        throw .ipMissing
    }

    /// Runs `ip args…`, returning stdout; throws with stderr on a non-zero exit.
    @discardableResult
    public static func run(_ args: [String]) throws(LabError) -> String {
        let r = try runStatus(args)
        guard r.status == 0 else {
            throw .commandFailed(command: "ip " + args.joined(separator: " "), status: r.status, stderr: r.stderr)
        }
        return r.stdout
    }

    /// Runs `ip args…` and reports the exit status instead of throwing on failure.
    public static func runStatus(_ args: [String]) throws(LabError) -> (status: Int32, stdout: String, stderr: String) {
        let exe = try executable()
        do {
            let r = try Spawn.run(exe, args)
            return (r.status, r.stdoutText, r.stderrText)
        } catch {
            throw .commandFailed(command: exe, status: -1, stderr: "\(error)")
        }
    }
}
